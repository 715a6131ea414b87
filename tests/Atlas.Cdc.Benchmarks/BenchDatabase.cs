using Atlas.Cdc.Sandbox;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Benchmarks;

/// <summary>One scenario's database on the shared server, with the queries the benchmark needs.</summary>
internal sealed class BenchDatabase
{
    private readonly TemporaryPostgres _postgres;

    private BenchDatabase(TemporaryPostgres postgres, string name)
    {
        _postgres = postgres;
        Name = name;
    }

    public string Name { get; }

    public int Port => _postgres.Port;

    public string SuperuserConnectionString => _postgres.ConnectionStringFor("postgres", database: Name);

    /// <summary>The relay connects as the least-privilege role of sql/003_roles.sql, as in production.</summary>
    public string RelayConnectionString => _postgres.ConnectionStringFor("atlas_cdc_relay", database: Name);

    public string PollingRelayConnectionString => _postgres.ConnectionStringFor("atlas_poll_relay", database: Name);

    /// <summary>libpq connection string for pgbench and pg_recvlogical.</summary>
    public string LibpqConnectionString => $"host=127.0.0.1 port={Port} user=postgres dbname={Name}";

    public static async Task<BenchDatabase> CreateAsync(TemporaryPostgres postgres, string name, bool polling)
    {
        await postgres.ExecuteAsync($"CREATE DATABASE {name}");
        var database = new BenchDatabase(postgres, name);
        foreach (var file in Directory.GetFiles(RepositoryPaths.SqlDirectory, "*.sql").Order(StringComparer.Ordinal))
            await database.ExecuteAsync(await File.ReadAllTextAsync(file));
        await database.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        if (polling)
        {
            // The polling relay's own marker: a commit-independent order (a sequence) and a published flag, with
            // the partial index such relays use so each poll reads only unpublished rows.
            await database.ExecuteAsync("""
                ALTER TABLE public.outbox ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY, ADD COLUMN published_at timestamptz;
                CREATE INDEX outbox_unpublished_idx ON public.outbox (seq) WHERE published_at IS NULL;
                GRANT SELECT, UPDATE ON public.outbox TO atlas_poll_relay;
                """);
        }
        return database;
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(SuperuserConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// The outbox's messages as kcat's input lines, "key&lt;TAB&gt;payload" (the payload as jsonb's text, what the relay
    /// sends), in commit order, into <paramref name="file"/>; returns how many.
    /// </summary>
    public async Task<long> ExportMessagesAsync(string file, int? limit = null)
    {
        await using var connection = await OpenAsync();
        var top = limit is { } n ? $" LIMIT {n}" : "";
        using var reader = await connection.BeginTextExportAsync(
            $"COPY (SELECT aggregate_id, payload::text FROM public.outbox ORDER BY created_at{top}) TO STDOUT");
        await using var writer = new StreamWriter(file, append: false, new System.Text.UTF8Encoding(false));
        long lines = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            await writer.WriteLineAsync(line);
            lines++;
        }
        return lines;
    }

    /// <summary>The first <paramref name="limit"/> of the outbox's messages as kcat's input lines (see <see cref="ExportMessagesAsync"/>).</summary>
    public async Task<List<string>> ExportMessageLinesAsync(int limit)
    {
        await using var connection = await OpenAsync();
        using var reader = await connection.BeginTextExportAsync(
            $"COPY (SELECT aggregate_id, payload::text FROM public.outbox ORDER BY created_at LIMIT {limit}) TO STDOUT");
        var lines = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
            lines.Add(line);
        return lines;
    }

    /// <summary>Average size in bytes of the payload as the relay sends it (jsonb's text).</summary>
    public Task<double> AveragePayloadBytesAsync() =>
        ScalarAsync<double>("SELECT coalesce(avg(octet_length(payload::text)), 0)::float8 FROM public.outbox");

    /// <summary>Creates a pgoutput slot at the current WAL position, as a relay or pg_recvlogical would.</summary>
    public Task<NpgsqlLogSequenceNumber> CreateSlotAsync(string slot) =>
        ScalarAsync<NpgsqlLogSequenceNumber>("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", slot);

    public Task<NpgsqlLogSequenceNumber> CurrentWalLsnAsync() => ScalarAsync<NpgsqlLogSequenceNumber>("SELECT pg_current_wal_lsn()");

    public Task<long> CountAsync(string sql) => ScalarAsync<long>(sql);

    /// <summary>The walsender streaming <paramref name="slot"/>, or null when none is.</summary>
    public async Task<int?> SlotActivePidAsync(string slot)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = slot });
        return await command.ExecuteScalarAsync() is int pid ? pid : null;
    }

    /// <summary>Backends of <paramref name="role"/> connected to this database (ordinary and walsender).</summary>
    public async Task<List<int>> BackendPidsAsync(string role)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = role });
        command.Parameters.Add(new NpgsqlParameter { Value = Name });
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            pids.Add(reader.GetInt32(0));
        return pids;
    }

    /// <summary>Forgets statement statistics and this database's table counters, so a measurement starts at zero.</summary>
    public async Task ResetStatisticsAsync()
    {
        await ExecuteAsync("SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();");
    }

    /// <summary>What the statements run by <paramref name="role"/> in this database cost since the last reset.</summary>
    public async Task<StatementLoad> StatementLoadAsync(string role)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT coalesce(sum(s.calls), 0)::bigint, coalesce(sum(s.total_exec_time), 0)::float8, coalesce(sum(s.rows), 0)::bigint,
                   coalesce(sum(s.wal_bytes), 0)::bigint, coalesce(sum(s.shared_blks_hit + s.shared_blks_read), 0)::bigint
            FROM pg_stat_statements s
            JOIN pg_roles r ON r.oid = s.userid
            JOIN pg_database d ON d.oid = s.dbid
            WHERE r.rolname = $1 AND d.datname = $2
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = role });
        command.Parameters.Add(new NpgsqlParameter { Value = Name });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new StatementLoad(reader.GetInt64(0), reader.GetDouble(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <summary>The statements of <paramref name="role"/> that took the most server time, for the progress log.</summary>
    public async Task<List<string>> TopStatementsAsync(string role, int count)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT s.calls, s.mean_exec_time, s.total_exec_time, left(regexp_replace(s.query, '\s+', ' ', 'g'), 90)
            FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
            WHERE r.rolname = $1 AND d.datname = $2 ORDER BY s.total_exec_time DESC LIMIT $3
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = role });
        command.Parameters.Add(new NpgsqlParameter { Value = Name });
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            lines.Add($"{reader.GetInt64(0),7:N0} calls, mean {reader.GetDouble(1),8:0.00} ms, total {reader.GetDouble(2) / 1000,6:0.0} s: {reader.GetString(3)}");
        return lines;
    }

    /// <summary>Counters of the outbox table since the last reset (stats are flushed by backends about once a second).</summary>
    public async Task<TableLoad> OutboxLoadAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count + vacuum_count,
                   coalesce(idx_scan, 0) + coalesce(seq_scan, 0)
            FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = 'outbox'
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new TableLoad(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5));
    }
}

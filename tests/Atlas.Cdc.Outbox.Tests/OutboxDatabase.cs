using Atlas.Cdc.Sandbox;
using Npgsql;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>
/// One test's database: sql/ applied, a business table <c>orders</c> (created_at is now(): the inserting transaction's start), and a login role granted atlas_cdc_writer
/// (plus rights on <c>orders</c>), as an application team's service would have. Disposing drops both.
/// </summary>
public sealed class OutboxDatabase(OutboxEnvironment environment, string name) : IAsyncDisposable
{
    public string Name { get; } = "db_" + name;

    /// <summary>The application's login role: atlas_cdc_writer (INSERT on the outbox) and its own table, nothing else.</summary>
    public string WriterRole => "app_" + Name;

    public OutboxEnvironment Environment => environment;

    public string SuperuserConnectionString => environment.Postgres.ConnectionStringFor("postgres", database: Name);

    public string WriterConnectionString => environment.Postgres.ConnectionStringFor(WriterRole, database: Name);

    internal async Task CreateAsync()
    {
        await environment.Postgres.ExecuteAsync($"CREATE DATABASE {Name}");
        await using var connection = await OpenSuperuserAsync();
        foreach (var file in Directory.GetFiles(RepositoryPaths.SqlDirectory, "*.sql").Order(StringComparer.Ordinal))
            await ExecuteAsync(connection, await File.ReadAllTextAsync(file));
        await ExecuteAsync(connection, $"""
            CREATE TABLE public.orders (id uuid PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WriterRole}') THEN CREATE ROLE {WriterRole} LOGIN; END IF;
            END $$;
            GRANT atlas_cdc_writer TO {WriterRole};
            GRANT SELECT, INSERT, UPDATE ON public.orders TO {WriterRole};
            """);
    }

    public async Task<NpgsqlConnection> OpenWriterAsync()
    {
        var connection = new NpgsqlConnection(WriterConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<NpgsqlConnection> OpenSuperuserAsync()
    {
        var connection = new NpgsqlConnection(SuperuserConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = await OpenSuperuserAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public Task<long> OutboxCountAsync() => ScalarAsync<long>("SELECT count(*) FROM public.outbox");

    /// <summary>Every outbox row, oldest first, read as superuser (the writer role cannot read it).</summary>
    public async Task<List<StoredRow>> RowsAsync()
    {
        await using var connection = await OpenSuperuserAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, aggregate_type, aggregate_id, event_type, payload::text, headers::text, idempotency_key FROM public.outbox ORDER BY created_at, id",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<StoredRow>();
        while (await reader.ReadAsync())
            rows.Add(new StoredRow(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        return rows;
    }

    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await environment.Postgres.ExecuteAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        await environment.Postgres.ExecuteAsync($"DROP ROLE IF EXISTS {WriterRole}");
    }
}

/// <summary>An outbox row as stored.</summary>
public sealed record StoredRow(Guid Id, string AggregateType, string AggregateId, string EventType, string Payload, string? Headers, string? IdempotencyKey);

using System.Data;
using System.Runtime.CompilerServices;
using System.Text;
using Atlas.Cdc.Events;
using Atlas.Cdc.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Reading;

/// <summary>
/// Reads outbox rows through SQL, inside one REPEATABLE READ transaction (one snapshot for the count and the rows),
/// optionally the snapshot a new replication slot exported. Rows come through a server-side cursor in batches, so
/// memory stays bounded for any table size, in the order README states: per aggregate, commit order when
/// <c>track_commit_timestamp</c> is on, otherwise <c>created_at</c> (then physical position, which is insert
/// order within a transaction unless the page reused space of deleted rows).
/// </summary>
internal sealed class OutboxTableReader : IAsyncDisposable
{
    private const string CursorName = "atlas_cdc_rows";

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly string _table;
    private readonly bool _hasHeaders;

    private OutboxTableReader(NpgsqlConnection connection, NpgsqlTransaction transaction, OutboxTableName table, bool hasHeaders, bool commitOrder)
    {
        _connection = connection;
        _transaction = transaction;
        _table = SqlCommands.QuoteQualified(table.Schema, table.Name);
        _hasHeaders = hasHeaders;
        CommitOrder = commitOrder;
    }

    /// <summary>True when rows are ordered (and timestamped) by their transaction's commit time.</summary>
    public bool CommitOrder { get; }

    /// <summary>Which order rows come in, for logs and the summary line.</summary>
    public string OrderDescription => CommitOrder
        ? "commit order (track_commit_timestamp is on)"
        : "created_at order (track_commit_timestamp is off)";

    /// <summary>
    /// Opens a connection and a REPEATABLE READ transaction. With <paramref name="snapshotName"/> the transaction
    /// imports that exported snapshot first (it must still be alive: the exporting replication connection has run
    /// no other command since).
    /// </summary>
    public static async Task<OutboxTableReader> OpenAsync(string connectionString, OutboxTableName table, string? snapshotName,
        CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            Timeout = 10,
            CommandTimeout = 0, // the first FETCH sorts the whole table
            ApplicationName = "atlas-cdc",
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
            if (snapshotName is not null)
                await connection.ExecuteAsync($"SET TRANSACTION SNAPSHOT '{snapshotName.Replace("'", "''", StringComparison.Ordinal)}'", cancellationToken);
            var tracked = await connection.ScalarAsync<string>("SHOW track_commit_timestamp", cancellationToken) == "on";
            // The headers column is optional in the contract.
            await using var headers = new NpgsqlCommand(
                "SELECT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace " +
                "WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = 'headers' AND NOT a.attisdropped)", connection);
            headers.Parameters.Add(new NpgsqlParameter { Value = table.Schema });
            headers.Parameters.Add(new NpgsqlParameter { Value = table.Name });
            var hasHeaders = (bool)(await headers.ExecuteScalarAsync(cancellationToken))!;
            return new OutboxTableReader(connection, transaction, table, hasHeaders, tracked);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The snapshot's xmin: every transaction below it had ended, and those that committed are visible.</summary>
    public Task<ulong> SnapshotXminAsync(CancellationToken cancellationToken) =>
        _connection.ScalarAsync<ulong>("SELECT pg_snapshot_xmin(pg_current_snapshot())", cancellationToken);

    /// <summary>
    /// The WAL insert position now: every transaction visible in the snapshot (taken before) has its commit record
    /// below it, so it bounds the commit LSN of every row read.
    /// </summary>
    public async Task<ulong> WalInsertLsnAsync(CancellationToken cancellationToken) =>
        (ulong)await _connection.ScalarAsync<NpgsqlLogSequenceNumber>("SELECT pg_current_wal_insert_lsn()", cancellationToken);

    public async Task<long> CountAsync(RowFilter filter, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {_table} WHERE {Where(filter, out var parameters)}", _connection);
        command.Parameters.AddRange(parameters);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The matching rows in publishing order, <paramref name="batchSize"/> per round trip.</summary>
    public async IAsyncEnumerable<TableRow> ReadAsync(RowFilter filter, int batchSize, EventOrigin origin,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var commitTime = CommitOrder ? "COALESCE(pg_xact_commit_timestamp(xmin), created_at)" : "created_at";
        var order = CommitOrder ? "pg_xact_commit_timestamp(xmin) NULLS FIRST, created_at, ctid" : "created_at, ctid";
        var headers = _hasHeaders ? "headers::text" : "NULL::text";
        await using (var declare = new NpgsqlCommand(
            $"DECLARE {CursorName} NO SCROLL CURSOR FOR SELECT id::text, aggregate_type, aggregate_id, event_type, payload::text, {headers}, {commitTime} " +
            $"FROM {_table} WHERE {Where(filter, out var parameters)} ORDER BY {order}", _connection))
        {
            declare.Parameters.AddRange(parameters);
            await declare.ExecuteNonQueryAsync(cancellationToken);
        }

        var batch = new List<TableRow>(batchSize);
        while (true)
        {
            batch.Clear();
            await using (var fetch = new NpgsqlCommand($"FETCH {batchSize} FROM {CursorName}", _connection))
            await using (var reader = await fetch.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                    batch.Add(Read(reader, origin));
            }
            foreach (var row in batch)
                yield return row;
            if (batch.Count < batchSize)
                break;
        }
        await _connection.ExecuteAsync($"CLOSE {CursorName}", cancellationToken);
    }

    private static TableRow Read(NpgsqlDataReader reader, EventOrigin origin)
    {
        byte[]? Bytes(int ordinal) => reader.IsDBNull(ordinal) ? null : Encoding.UTF8.GetBytes(reader.GetString(ordinal));
        var id = Bytes(0);
        var aggregateType = reader.IsDBNull(1) ? null : reader.GetString(1);
        var aggregateId = Bytes(2);
        var eventType = Bytes(3);
        var payload = Bytes(4);
        var nulls = new List<string>();
        if (aggregateType is null) nulls.Add(OutboxColumnMap.AggregateTypeColumn);
        if (aggregateId is null) nulls.Add(OutboxColumnMap.AggregateIdColumn);
        if (eventType is null) nulls.Add(OutboxColumnMap.EventTypeColumn);
        if (payload is null) nulls.Add(OutboxColumnMap.PayloadColumn);
        var outboxEvent = new OutboxEvent
        {
            Id = id ?? [],
            AggregateType = aggregateType ?? "",
            AggregateId = aggregateId ?? [],
            EventType = eventType ?? [],
            Payload = payload ?? [],
            Headers = Bytes(5),
            DecodeError = nulls.Count == 0 ? null : $"column(s) {string.Join(", ", nulls)} are NULL",
            Origin = origin,
        };
        return new TableRow(outboxEvent, reader.GetFieldValue<DateTimeOffset>(6));
    }

    private static string Where(RowFilter filter, out NpgsqlParameter[] parameters)
    {
        var conditions = new List<string> { "true" };
        var values = new List<NpgsqlParameter>();
        string Next(object value, NpgsqlDbType type)
        {
            values.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            return "$" + values.Count;
        }
        if (filter.MinInsertingXid is { } xid)
            // Not older than the horizon: age() counts back from the current transaction (see OutboxRetention).
            conditions.Add($"age(xmin) <= age({Next((uint)(xid & uint.MaxValue), NpgsqlDbType.Xid)})");
        if (filter.Since is { } since)
            conditions.Add($"created_at >= {Next(since.UtcDateTime, NpgsqlDbType.TimestampTz)}");
        if (filter.Until is { } until)
            conditions.Add($"created_at < {Next(until.UtcDateTime, NpgsqlDbType.TimestampTz)}");
        if (filter.AggregateType is { } aggregateType)
            conditions.Add($"aggregate_type = {Next(aggregateType, NpgsqlDbType.Text)}");
        if (filter.AggregateId is { } aggregateId)
            conditions.Add($"aggregate_id = {Next(aggregateId, NpgsqlDbType.Text)}");
        if (filter.Ids.Count > 0)
            conditions.Add($"id = ANY ({Next(filter.Ids.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)})");
        parameters = [.. values];
        return string.Join(" AND ", conditions);
    }

    /// <summary>Ends the transaction (read only, so nothing to keep) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _transaction.RollbackAsync();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The connection is already broken: closing it ends the transaction too.
        }
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

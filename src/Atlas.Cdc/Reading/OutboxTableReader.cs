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
/// optionally the snapshot a new replication slot exported. Rows of every outbox come through one server-side
/// cursor over their union, in batches, so memory stays bounded for any table size, in the order that
/// docs/operations.md ("Several outboxes") states: commit order when <c>track_commit_timestamp</c> is on, otherwise
/// the created-at column's order, then statement order within a transaction (cmin), then physical position (insert
/// order within a statement unless the page reused space of deleted rows).
/// </summary>
internal sealed class OutboxTableReader : IAsyncDisposable
{
    private const string CursorName = "atlas_cdc_rows";

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly IReadOnlyList<OutboxTableShape> _shapes;

    private OutboxTableReader(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<OutboxTableShape> shapes, bool commitOrder)
    {
        _connection = connection;
        _transaction = transaction;
        _shapes = shapes;
        CommitOrder = commitOrder;
    }

    /// <summary>True when rows are ordered (and timestamped) by their transaction's commit time.</summary>
    public bool CommitOrder { get; }

    /// <summary>Which order rows come in, for logs and the summary line.</summary>
    public string OrderDescription => CommitOrder
        ? "commit order (track_commit_timestamp is on)"
        : "created-at order (track_commit_timestamp is off)";

    /// <summary>
    /// Opens a connection and a REPEATABLE READ transaction. With <paramref name="snapshotName"/> the transaction
    /// imports that exported snapshot first (it must still be alive: the exporting replication connection has run
    /// no other command since).
    /// </summary>
    public static async Task<OutboxTableReader> OpenAsync(string connectionString, OutboxCatalog outboxes, string? snapshotName,
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
            var shapes = await OutboxTableShape.ReadAsync(connection, outboxes, cancellationToken);
            return new OutboxTableReader(connection, transaction, shapes, tracked);
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
        var parameters = new List<NpgsqlParameter>();
        var counts = Selected(filter).Select(shape =>
            $"SELECT count(*) AS n FROM {Quoted(shape)} WHERE {Where(shape, filter, parameters)}").ToList();
        if (counts.Count == 0)
            return 0;
        await using var command = new NpgsqlCommand($"SELECT coalesce(sum(n), 0)::bigint FROM ({string.Join(" UNION ALL ", counts)}) AS c", _connection);
        command.Parameters.AddRange(parameters.ToArray());
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The matching rows in publishing order, <paramref name="batchSize"/> per round trip.</summary>
    public async IAsyncEnumerable<TableRow> ReadAsync(RowFilter filter, int batchSize, EventOrigin origin,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var shapes = Selected(filter).ToList();
        if (shapes.Count == 0)
            yield break;
        var parameters = new List<NpgsqlParameter>();
        var selects = shapes.Select(shape => Select(shape, filter, parameters)).ToList();
        await using (var declare = new NpgsqlCommand(
            $"DECLARE {CursorName} NO SCROLL CURSOR FOR SELECT * FROM ({string.Join(" UNION ALL ", selects)}) AS r " +
            "ORDER BY commit_ts NULLS FIRST, created, statement_order, o, row_position", _connection))
        {
            declare.Parameters.AddRange(parameters.ToArray());
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

    private IEnumerable<OutboxTableShape> Selected(RowFilter filter) =>
        _shapes.Where(shape => filter.Outboxes is null || filter.Outboxes.Contains(shape.Outbox.Name));

    /// <summary>One outbox's rows in the union's columns: which outbox, the roles as text (payload as bytes when bytea), order keys.</summary>
    private string Select(OutboxTableShape shape, RowFilter filter, List<NpgsqlParameter> parameters)
    {
        var outbox = shape.Outbox;
        string Text(string? column) => column is not null && shape.TypeOf(column) is not null ? $"{Quote(column)}::text" : "NULL::text";
        var payload = Quote(outbox.PayloadColumn);
        var extra = outbox.AdditionalHeaders.Count == 0
            ? "NULL::text[]"
            : $"ARRAY[{string.Join(", ", outbox.AdditionalHeaders.Select(h => $"{Quote(h.Column)}::text"))}]";
        var created = outbox.CreatedAtColumn is { } createdAt && shape.TypeOf(createdAt) is not null
            ? $"{Quote(createdAt)}::timestamptz"
            : "NULL::timestamptz";
        var commitTs = CommitOrder ? "pg_xact_commit_timestamp(xmin)" : "NULL::timestamptz";
        return $"SELECT {outbox.Index} AS o, {Text(outbox.IdColumn)} AS id, {Text(outbox.AggregateTypeColumn)} AS aggregate_type, " +
               $"{Text(outbox.AggregateIdColumn)} AS aggregate_id, {Text(outbox.EventTypeColumn)} AS event_type, " +
               (shape.PayloadIsBytea ? $"NULL::text AS payload, {payload} AS payload_bytes, " : $"{payload}::text AS payload, NULL::bytea AS payload_bytes, ") +
               $"{Text(outbox.HeadersColumn)} AS headers, {extra} AS extra, " +
               $"coalesce({commitTs}, {created}, statement_timestamp()) AS published_at, {commitTs} AS commit_ts, {created} AS created, " +
               // Rows of one transaction in two outboxes share their times: the statement order (cmin) keeps them as written.
               "cmin::text::bigint AS statement_order, ctid AS row_position " +
               $"FROM {Quoted(shape)} WHERE {Where(shape, filter, parameters)}";
    }

    private TableRow Read(NpgsqlDataReader reader, EventOrigin origin)
    {
        byte[]? Bytes(int ordinal) => reader.IsDBNull(ordinal) ? null : Encoding.UTF8.GetBytes(reader.GetString(ordinal));
        var outbox = _shapes.First(s => s.Outbox.Index == reader.GetInt32(0)).Outbox;
        var id = Bytes(1);
        var aggregateType = reader.IsDBNull(2) ? null : reader.GetString(2);
        var aggregateId = Bytes(3);
        var eventType = Bytes(4);
        var payload = reader.IsDBNull(6) ? Bytes(5) : reader.GetFieldValue<byte[]>(6);
        var nulls = new List<string>();
        if (aggregateType is null) nulls.Add(outbox.AggregateTypeColumn);
        if (aggregateId is null) nulls.Add(outbox.AggregateIdColumn);
        if (eventType is null) nulls.Add(outbox.EventTypeColumn);
        if (payload is null) nulls.Add(outbox.PayloadColumn);
        var outboxEvent = new OutboxEvent
        {
            Id = id ?? [],
            AggregateType = aggregateType ?? "",
            AggregateId = aggregateId ?? [],
            EventType = eventType ?? [],
            Payload = payload ?? [],
            Headers = Bytes(7),
            DecodeError = nulls.Count == 0 ? null : $"column(s) {string.Join(", ", nulls)} are NULL",
            Outbox = outbox,
            AdditionalHeaders = reader.IsDBNull(8)
                ? null
                : [.. reader.GetFieldValue<string?[]>(8).Select(v => v is null ? null : Encoding.UTF8.GetBytes(v))],
            Origin = origin,
        };
        return new TableRow(outboxEvent, reader.GetFieldValue<DateTimeOffset>(9));
    }

    private static string Where(OutboxTableShape shape, RowFilter filter, List<NpgsqlParameter> values)
    {
        var outbox = shape.Outbox;
        var conditions = new List<string> { "true" };
        string Next(object value, NpgsqlDbType type)
        {
            values.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            return "$" + values.Count;
        }
        if (filter.MinInsertingXid is { } xid)
            // Not older than the horizon: age() counts back from the current transaction (see OutboxRetention).
            conditions.Add($"age(xmin) <= age({Next((uint)(xid & uint.MaxValue), NpgsqlDbType.Xid)})");
        if (filter.Since is not null || filter.Until is not null)
        {
            var createdAt = outbox.CreatedAtColumn is { } column && shape.TypeOf(column) is not null
                ? Quote(column)
                : throw new FatalConfigurationException(
                    $"{outbox} has no created-at column, so rows cannot be chosen by time: name it with {outbox.ColumnSetting("CreatedAt")}, or choose rows by id, aggregate or outbox.");
            if (filter.Since is { } since)
                conditions.Add($"{createdAt} >= {Next(since.UtcDateTime, NpgsqlDbType.TimestampTz)}");
            if (filter.Until is { } until)
                conditions.Add($"{createdAt} < {Next(until.UtcDateTime, NpgsqlDbType.TimestampTz)}");
        }
        if (filter.AggregateType is { } aggregateType)
            conditions.Add($"{Quote(outbox.AggregateTypeColumn)}::text = {Next(aggregateType, NpgsqlDbType.Text)}");
        if (filter.AggregateId is { } aggregateId)
            conditions.Add($"{Quote(outbox.AggregateIdColumn)}::text = {Next(aggregateId, NpgsqlDbType.Text)}");
        if (filter.Ids.Count > 0)
            conditions.Add(shape.IdIsUuid
                ? $"{Quote(outbox.IdColumn)} = ANY ({Next(filter.Ids.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid)})"
                : $"{Quote(outbox.IdColumn)}::text = ANY ({Next(filter.Ids.Select(id => id.ToString()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)})");
        return string.Join(" AND ", conditions);
    }

    private static string Quoted(OutboxTableShape shape) => SqlCommands.QuoteQualified(shape.Outbox.Table.Schema, shape.Outbox.Table.Name);

    private static string Quote(string identifier) => SqlCommands.QuoteIdentifier(identifier);

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

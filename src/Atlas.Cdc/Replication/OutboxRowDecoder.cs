using System.Buffers;
using Atlas.Cdc.Outbox;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;

namespace Atlas.Cdc.Replication;

/// <summary>
/// Copies one outbox insert out of the replication stream. Values arrive in text format; their bytes are kept as
/// they are, so the payload reaches Kafka exactly as PostgreSQL rendered it. Npgsql reuses the message, so
/// everything is copied before the reader moves on.
/// </summary>
internal static class OutboxRowDecoder
{
    private static readonly AggregateTypeCache s_aggregateTypes = new();

    public static async ValueTask<OutboxEvent> DecodeAsync(InsertMessage insert, OutboxColumnMap map, CancellationToken cancellationToken)
    {
        AggregateTypeCache.Entry? aggregateType = null;
        byte[]? id = null, aggregateId = null, eventType = null, payload = null, headers = null;
        var index = 0;
        await foreach (var value in insert.NewRow.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (index == map.Id)
                id = await ReadAsync(value, cancellationToken).ConfigureAwait(false);
            else if (index == map.AggregateType)
                aggregateType = await ReadAggregateTypeAsync(value, cancellationToken).ConfigureAwait(false);
            else if (index == map.AggregateId)
                aggregateId = await ReadAsync(value, cancellationToken).ConfigureAwait(false);
            else if (index == map.EventType)
                eventType = await ReadAsync(value, cancellationToken).ConfigureAwait(false);
            else if (index == map.Payload)
                payload = await ReadAsync(value, cancellationToken).ConfigureAwait(false);
            else if (index == map.Headers)
                headers = await ReadAsync(value, cancellationToken).ConfigureAwait(false);
            index++;
        }

        // The contract's NOT NULL constraints make these impossible on sql/'s table; a hand-made table may differ.
        var nulls = new List<string>();
        if (id is null) nulls.Add(OutboxColumnMap.IdColumn);
        if (aggregateType is null) nulls.Add(OutboxColumnMap.AggregateTypeColumn);
        if (aggregateId is null) nulls.Add(OutboxColumnMap.AggregateIdColumn);
        if (eventType is null) nulls.Add(OutboxColumnMap.EventTypeColumn);
        if (payload is null) nulls.Add(OutboxColumnMap.PayloadColumn);

        return new OutboxEvent
        {
            Id = id ?? [],
            AggregateType = aggregateType?.Text ?? "",
            AggregateTypeBytes = aggregateType?.Bytes ?? [],
            AggregateId = aggregateId ?? [],
            EventType = eventType ?? [],
            Payload = payload ?? [],
            Headers = headers,
            DecodeError = nulls.Count == 0 ? null : $"column(s) {string.Join(", ", nulls)} are NULL",
        };
    }

    /// <summary>Reads the value into a pooled buffer and returns the cached entry for it: no allocation once seen.</summary>
    private static async ValueTask<AggregateTypeCache.Entry?> ReadAggregateTypeAsync(ReplicationValue value, CancellationToken cancellationToken)
    {
        if (value.Kind != TupleDataKind.TextValue && value.Kind != TupleDataKind.BinaryValue)
            return null;
        var length = value.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            if (length > 0)
                await value.GetStream().ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            return s_aggregateTypes.Get(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async ValueTask<byte[]?> ReadAsync(ReplicationValue value, CancellationToken cancellationToken)
    {
        if (value.Kind != TupleDataKind.TextValue && value.Kind != TupleDataKind.BinaryValue)
            return null;
        var buffer = new byte[value.Length];
        if (buffer.Length == 0)
            return buffer;
        var stream = value.GetStream();
        await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer;
    }
}

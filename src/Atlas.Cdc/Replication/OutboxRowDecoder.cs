using System.Text;
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
    public static async ValueTask<OutboxEvent> DecodeAsync(InsertMessage insert, OutboxColumnMap map, CancellationToken cancellationToken)
    {
        byte[]? id = null, aggregateType = null, aggregateId = null, eventType = null, payload = null, headers = null;
        var index = 0;
        await foreach (var value in insert.NewRow.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (index == map.Id)
                id = await ReadAsync(value, cancellationToken).ConfigureAwait(false);
            else if (index == map.AggregateType)
                aggregateType = await ReadAsync(value, cancellationToken).ConfigureAwait(false);
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
            AggregateType = aggregateType is null ? "" : Encoding.UTF8.GetString(aggregateType),
            AggregateId = aggregateId ?? [],
            EventType = eventType ?? [],
            Payload = payload ?? [],
            Headers = headers,
            DecodeError = nulls.Count == 0 ? null : $"column(s) {string.Join(", ", nulls)} are NULL",
        };
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

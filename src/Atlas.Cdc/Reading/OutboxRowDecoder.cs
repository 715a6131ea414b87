using Atlas.Cdc.Events;
using Atlas.Cdc.Reading.PgOutput;

namespace Atlas.Cdc.Reading;

/// <summary>
/// Copies one outbox insert out of a pgoutput tuple. Values arrive in text format; their bytes are kept as they
/// are, so the payload reaches Kafka exactly as PostgreSQL rendered it. The message buffer is reused, so every
/// value is copied out before the next message is read.
/// </summary>
internal static class OutboxRowDecoder
{
    private static readonly Utf8TextCache s_aggregateTypes = new();
    private static readonly Utf8TextCache s_eventTypes = new();

    /// <summary>Decodes the tuple the reader is at (its column count first), as an insert's new row.</summary>
    public static OutboxEvent Decode(ref PgOutputReader reader, OutboxColumnMap map)
    {
        Utf8TextCache.Entry? aggregateType = null;
        byte[]? id = null, aggregateId = null, eventType = null, payload = null, headers = null;
        var additional = map.AdditionalHeaders.Length == 0 ? null : new byte[]?[map.AdditionalHeaders.Length];
        var count = reader.ReadInt16();
        for (var index = 0; index < count; index++)
        {
            var kind = reader.ReadByte();
            if (kind is not ((byte)'t' or (byte)'b'))
            {
                // 'n' is NULL; 'u' (an unchanged TOASTed value) never occurs in an insert.
                if (kind is not ((byte)'n' or (byte)'u'))
                    throw reader.Malformed($"column {index + 1} has the unknown kind '{(char)kind}'");
                continue;
            }
            var value = reader.Take(reader.ReadInt32());
            if (index == map.Id)
                id = value.ToArray();
            else if (index == map.AggregateType)
                aggregateType = s_aggregateTypes.Get(value);
            else if (index == map.AggregateId)
                aggregateId = value.ToArray();
            else if (index == map.EventType)
                eventType = s_eventTypes.Get(value).Bytes; // shared, never written to
            else if (index == map.Payload)
                // The replication connection asks for bytea_output = hex (PostgresConnectionStrings.ForReplication).
                payload = map.PayloadIsBytea
                    ? ByteaText.Decode(value) ?? throw reader.Malformed($"bytea column {index + 1} is not in hex output")
                    : value.ToArray();
            else if (index == map.Headers)
                headers = value.ToArray();
            if (additional is not null && Array.IndexOf(map.AdditionalHeaders, index) is var slot and >= 0)
                additional[slot] = value.ToArray();
        }

        // The contract's NOT NULL constraints make these impossible on sql/'s table; a hand-made table may differ.
        string? decodeError = null;
        if (id is null || aggregateType is null || aggregateId is null || eventType is null || payload is null)
        {
            var nulls = new List<string>();
            var outbox = map.Outbox;
            if (id is null) nulls.Add(outbox.IdColumn);
            if (aggregateType is null) nulls.Add(outbox.AggregateTypeColumn);
            if (aggregateId is null) nulls.Add(outbox.AggregateIdColumn);
            if (eventType is null) nulls.Add(outbox.EventTypeColumn);
            if (payload is null) nulls.Add(outbox.PayloadColumn);
            decodeError = $"column(s) {string.Join(", ", nulls)} are NULL";
        }

        return new OutboxEvent
        {
            Id = id ?? [],
            AggregateType = aggregateType?.Text ?? "",
            AggregateTypeBytes = aggregateType?.Bytes ?? [],
            AggregateId = aggregateId ?? [],
            EventType = eventType ?? [],
            Payload = payload ?? [],
            Headers = headers,
            DecodeError = decodeError,
            Outbox = map.Outbox,
            AdditionalHeaders = additional,
        };
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Atlas.Cdc.Events;
using Atlas.Cdc.Offsets;
using Confluent.Kafka;

namespace Atlas.Cdc.Mapping;

/// <summary>
/// Maps an outbox row to its Kafka message: key, value and headers as docs/consuming.md's message contract says. Holds no
/// mutable state: the publishing loop builds events and the producer's delivery thread builds dead letters with it
/// at the same time, for different transactions. The producer copies every message when it is produced.
/// </summary>
internal sealed class KafkaMessageFactory(IReadOnlyList<TopicNamer> topics)
{
    private static readonly byte[] s_true = "true"u8.ToArray();

    /// <summary>The event's topic, by its outbox's template (<paramref name="outboxEvent"/>'s outbox index; the first without one).</summary>
    public TopicNamer.TopicName TopicFor(OutboxEvent outboxEvent) =>
        topics[outboxEvent.OutboxIndex].For(outboxEvent.AggregateType, outboxEvent.EventType);

    /// <summary>
    /// Builds the event's message. <paramref name="warning"/> says what in the row's headers could not be carried as-is.
    /// </summary>
    public Message<byte[]?, byte[]?> Create(OutboxEvent outboxEvent, TrackedTransaction transaction, out string? warning)
    {
        var headers = new Headers();
        AddStandardHeaders(headers, outboxEvent.Id, outboxEvent.EventType, outboxEvent.AggregateTypeBytes, transaction);
        if (MessageHeaders.ForOrigin(outboxEvent.Origin) is { } origin)
            headers.Add(origin, s_true);
        warning = outboxEvent.Headers is { } json ? AddRowHeaders(headers, json) : null;
        if (outboxEvent.AdditionalHeaders is { } values)
        {
            var names = outboxEvent.Outbox!.AdditionalHeaders;
            for (var i = 0; i < values.Length; i++)
                headers.Add(names[i].Header, values[i]);
        }
        return new Message<byte[]?, byte[]?>
        {
            Key = outboxEvent.AggregateId,
            Value = outboxEvent.Payload,
            Timestamp = new Timestamp(transaction.CommitTime),
            Headers = headers,
        };
    }

    /// <summary>
    /// The record sent to the dead-letter topic in place of an event Kafka refused for good. Key and header values
    /// are cut to <see cref="MaxDeadLetterFieldBytes"/> (listed in <see cref="MessageHeaders.DeadLetterTruncated"/>):
    /// an event refused for a huge key or event type must not have its dead letter refused for the same reason.
    /// </summary>
    public Message<byte[]?, byte[]?> CreateDeadLetter(OutboxEvent outboxEvent, TrackedTransaction transaction,
        string originalTopic, string reason, int maxPayloadBytes)
    {
        var truncated = new List<string>();
        var headers = new Headers();
        var message = new Message<byte[]?, byte[]?> { Timestamp = new Timestamp(transaction.CommitTime), Headers = headers };
        AddStandardHeaders(headers, outboxEvent.Id,
            Bounded(outboxEvent.EventType, MessageHeaders.EventType, truncated),
            Bounded(outboxEvent.AggregateTypeBytes, MessageHeaders.AggregateType, truncated),
            transaction);
        headers.Add(MessageHeaders.DeadLetterOriginalTopic,
            Bounded(Encoding.UTF8.GetBytes(originalTopic), MessageHeaders.DeadLetterOriginalTopic, truncated));
        headers.Add(MessageHeaders.DeadLetterReason, Bounded(Encoding.UTF8.GetBytes(reason), MessageHeaders.DeadLetterReason, truncated));
        headers.Add(MessageHeaders.DeadLetterPayloadBytes,
            Encoding.UTF8.GetBytes(outboxEvent.Payload.Length.ToString(CultureInfo.InvariantCulture)));
        message.Key = Bounded(outboxEvent.AggregateId, "key", truncated);
        if (truncated.Count > 0)
            headers.Add(MessageHeaders.DeadLetterTruncated, Encoding.UTF8.GetBytes(string.Join(",", truncated)));
        message.Value = outboxEvent.Payload.Length <= maxPayloadBytes ? outboxEvent.Payload : null;
        return message;
    }

    /// <summary>Longest key or header value a dead letter carries; together they stay far below the 64 KB kept free for them.</summary>
    public const int MaxDeadLetterFieldBytes = 4096;

    /// <summary>The value, or its first bytes up to <see cref="MaxDeadLetterFieldBytes"/> cut on a UTF-8 character boundary.</summary>
    internal static byte[] Bounded(byte[] value, string field, List<string> truncated)
    {
        if (value.Length <= MaxDeadLetterFieldBytes)
            return value;
        var length = MaxDeadLetterFieldBytes;
        while (length > 0 && (value[length] & 0xC0) == 0x80)
            length--; // value[length] continues a character: cut before that character starts
        truncated.Add(field);
        return value[..length];
    }

    private static void AddStandardHeaders(Headers headers, byte[] id, byte[] eventType, byte[] aggregateType, TrackedTransaction transaction)
    {
        headers.Add(MessageHeaders.Id, id);
        headers.Add(MessageHeaders.EventType, eventType);
        headers.Add(MessageHeaders.AggregateType, aggregateType);
        headers.Add(MessageHeaders.CommitLsn, transaction.CommitLsnHeader);
        headers.Add(MessageHeaders.CommitTime, transaction.CommitTimeHeader);
    }

    /// <summary>
    /// Adds every entry of the row's headers object: strings as they are, other values as JSON text, JSON null as
    /// a null header value. JSON that is not an object is carried whole in <see cref="MessageHeaders.RawHeaders"/>.
    /// </summary>
    internal static string? AddRowHeaders(Headers headers, byte[] json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            headers.Add(MessageHeaders.RawHeaders, json);
            return $"headers column is not valid JSON ({e.Message}); carried raw in '{MessageHeaders.RawHeaders}'";
        }

        using (document)
        {
            var root = document.RootElement;
            switch (root.ValueKind)
            {
                case JsonValueKind.Null:
                    return null;
                case JsonValueKind.Object:
                    break;
                default:
                    headers.Add(MessageHeaders.RawHeaders, json);
                    return $"headers column holds a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object; carried raw in '{MessageHeaders.RawHeaders}'";
            }

            List<string>? dropped = null;
            foreach (var property in root.EnumerateObject())
            {
                if (MessageHeaders.IsReserved(property.Name))
                {
                    (dropped ??= []).Add(property.Name);
                    continue;
                }
                var value = property.Value;
                headers.Add(property.Name, value.ValueKind switch
                {
                    JsonValueKind.String => Encoding.UTF8.GetBytes(value.GetString()!),
                    JsonValueKind.Null => null,
                    _ => Encoding.UTF8.GetBytes(value.GetRawText()),
                });
            }
            return dropped is null
                ? null
                : $"headers column entries {string.Join(", ", dropped.Select(n => $"'{n}'"))} use names reserved by the relay and were not copied";
        }
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Atlas.Cdc.Outbox;
using Atlas.Cdc.Tracking;
using Confluent.Kafka;
using NpgsqlTypes;

namespace Atlas.Cdc.Publishing;

/// <summary>Maps an outbox row to its Kafka message: key, value and headers as README's message contract says.</summary>
internal sealed class KafkaMessageFactory(TopicNamer topics)
{
    private TrackedTransaction? _lastTransaction;
    private byte[] _commitLsn = [];
    private byte[] _commitTime = [];

    public TopicNamer.TopicName TopicFor(OutboxEvent outboxEvent) => topics.For(outboxEvent.AggregateType, outboxEvent.EventType);

    /// <summary>Builds the message. <paramref name="warning"/> says what in the row's headers could not be carried as-is.</summary>
    public Message<byte[], byte[]> Create(OutboxEvent outboxEvent, TrackedTransaction transaction, out string? warning)
    {
        var headers = StandardHeaders(outboxEvent, transaction);
        warning = outboxEvent.Headers is { } json ? AddRowHeaders(headers, json) : null;
        return new Message<byte[], byte[]>
        {
            Key = outboxEvent.AggregateId,
            Value = outboxEvent.Payload,
            Headers = headers,
            Timestamp = new Timestamp(transaction.CommitTime),
        };
    }

    /// <summary>The record sent to the dead-letter topic in place of an event Kafka refused for good.</summary>
    public Message<byte[], byte[]?> CreateDeadLetter(OutboxEvent outboxEvent, TrackedTransaction transaction,
        string originalTopic, string reason, int maxPayloadBytes)
    {
        var headers = StandardHeaders(outboxEvent, transaction);
        headers.Add(MessageHeaders.DeadLetterOriginalTopic, Encoding.UTF8.GetBytes(originalTopic));
        headers.Add(MessageHeaders.DeadLetterReason, Encoding.UTF8.GetBytes(reason));
        headers.Add(MessageHeaders.DeadLetterPayloadBytes,
            Encoding.UTF8.GetBytes(outboxEvent.Payload.Length.ToString(CultureInfo.InvariantCulture)));
        return new Message<byte[], byte[]?>
        {
            Key = outboxEvent.AggregateId,
            Value = outboxEvent.Payload.Length <= maxPayloadBytes ? outboxEvent.Payload : null,
            Headers = headers,
            Timestamp = new Timestamp(transaction.CommitTime),
        };
    }

    private Headers StandardHeaders(OutboxEvent outboxEvent, TrackedTransaction transaction)
    {
        if (!ReferenceEquals(transaction, _lastTransaction))
        {
            // Computed once per transaction: every event of it shares these two values.
            _commitLsn = Encoding.UTF8.GetBytes(new NpgsqlLogSequenceNumber(transaction.CommitLsn).ToString());
            _commitTime = Encoding.UTF8.GetBytes(FormatCommitTime(transaction.CommitTime));
            _lastTransaction = transaction;
        }
        return new Headers
        {
            { MessageHeaders.Id, outboxEvent.Id },
            { MessageHeaders.EventType, outboxEvent.EventType },
            { MessageHeaders.AggregateType, Encoding.UTF8.GetBytes(outboxEvent.AggregateType) },
            { MessageHeaders.CommitLsn, _commitLsn },
            { MessageHeaders.CommitTime, _commitTime },
        };
    }

    public static string FormatCommitTime(DateTimeOffset commitTime) =>
        commitTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

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

namespace Atlas.Cdc.Sandbox;

/// <summary>One Kafka message as read back by <see cref="KafkaTopicReader"/> (kcat's JSON envelope).</summary>
/// <param name="Topic">Topic name.</param>
/// <param name="Partition">Partition number.</param>
/// <param name="Offset">Offset within the partition.</param>
/// <param name="Timestamp">The message timestamp (kcat's <c>ts</c>, milliseconds since the Unix epoch); the epoch when absent.</param>
/// <param name="Key">The key as UTF-8 text; null for a null key. Exact for UTF-8 keys, see <see cref="KeyBytes"/> otherwise.</param>
/// <param name="Payload">The value as UTF-8 text; null for a null value (tombstone). See <see cref="PayloadBytes"/> for the exact bytes.</param>
/// <param name="Headers">Headers in wire order; a header may repeat and its value may be null.</param>
/// <param name="ReceivedAt">Local clock when kcat's output line for this message was read (for latency measurement).</param>
public sealed record KafkaRecord(
    string Topic,
    int Partition,
    long Offset,
    DateTimeOffset Timestamp,
    string? Key,
    string? Payload,
    IReadOnlyList<KeyValuePair<string, string?>> Headers,
    DateTimeOffset ReceivedAt)
{
    /// <summary>The key's exact bytes (also when they are not valid UTF-8); null for a null key.</summary>
    public byte[]? KeyBytes { get; init; }

    /// <summary>The value's exact bytes (also when they are not valid UTF-8); null for a null value.</summary>
    public byte[]? PayloadBytes { get; init; }

    /// <summary>The value of the last header called <paramref name="name"/> (ordinal match); null when absent or null.</summary>
    /// <param name="name">Header name.</param>
    public string? Header(string name)
    {
        for (var i = Headers.Count - 1; i >= 0; i--)
        {
            if (string.Equals(Headers[i].Key, name, StringComparison.Ordinal))
            {
                return Headers[i].Value;
            }
        }

        return null;
    }
}

namespace Atlas.Cdc.Outbox;

/// <summary>The limits the writer checks before anything is written, and why.</summary>
public static class OutboxLimits
{
    /// <summary>
    /// Longest aggregate type (100). It becomes part of a Kafka topic name (at most 249 characters, only ASCII
    /// letters, digits, '.', '_' and '-'); 100 leaves room for a topic prefix and an event type.
    /// </summary>
    public const int MaxAggregateTypeLength = 100;

    /// <summary>Longest event type (100), with the same characters as the aggregate type: a topic template may use it.</summary>
    public const int MaxEventTypeLength = 100;

    /// <summary>Longest aggregate id (256 characters). It is the Kafka message key, read by every consumer.</summary>
    public const int MaxAggregateIdLength = 256;

    /// <summary>
    /// Longest idempotency key (256 characters). Keys live in a unique B-tree index, whose entries PostgreSQL
    /// limits to about 2,700 bytes.
    /// </summary>
    public const int MaxIdempotencyKeyLength = 256;

    /// <summary>Longest name of a caller-supplied header (256 characters).</summary>
    public const int MaxHeaderNameLength = 256;
}

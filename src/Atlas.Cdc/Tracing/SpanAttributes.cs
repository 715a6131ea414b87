namespace Atlas.Cdc.Tracing;

/// <summary>
/// Attribute names of the relay's spans: OpenTelemetry's messaging semantic conventions (Kafka), plus the relay's own
/// under <c>atlas.</c>. docs/observability.md ("Tracing") lists them.
/// </summary>
internal static class SpanAttributes
{
    public const string MessagingSystem = "messaging.system";
    public const string DestinationName = "messaging.destination.name";
    public const string OperationType = "messaging.operation.type";
    public const string OperationName = "messaging.operation.name";
    public const string MessageId = "messaging.message.id";
    public const string MessageBodySize = "messaging.message.body.size";
    public const string KafkaMessageKey = "messaging.kafka.message.key";
    public const string PartitionId = "messaging.destination.partition.id";
    public const string KafkaOffset = "messaging.kafka.offset";
    public const string ErrorType = "error.type";

    /// <summary>Where the event was read: <c>stream</c> (the slot), <c>snapshot</c> (backfill or slot recovery) or <c>replay</c>.</summary>
    public const string Origin = "atlas.origin";

    /// <summary>On events read from the table: the commit time they are published with (the row's, not the span's start).</summary>
    public const string CommitTime = "atlas.commit_time";

    /// <summary>On dead-lettered events: the dead-letter topic the event was written to instead.</summary>
    public const string DeadLetterTopic = "atlas.dead_letter.topic";

    /// <summary>The values of <see cref="MessagingSystem"/> and of the operation type and name.</summary>
    public const string Kafka = "kafka";
    public const string Publish = "publish";
}

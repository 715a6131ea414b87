namespace Atlas.Cdc.Outbox;

/// <summary>
/// Marks a class or record as an outbox event and names what the relay needs besides the payload: the aggregate
/// type (the Kafka topic, through the relay's <c>Cdc:TopicTemplate</c>) and the event type (the <c>event_type</c>
/// header). One property of the type carries <see cref="AggregateIdAttribute"/>.
/// </summary>
/// <example>
/// <code>
/// [OutboxEvent("Order", "OrderPlaced")]
/// public sealed record OrderPlaced
/// {
///     [AggregateId] public required Guid OrderId { get; init; }
///     [Range(0.01, 1_000_000)] public required decimal Total { get; init; }
/// }
/// </code>
/// </example>
/// <param name="aggregateType">
/// The aggregate type, e.g. <c>Order</c>: 1 to <see cref="OutboxLimits.MaxAggregateTypeLength"/> ASCII letters,
/// digits, '.', '_' or '-', because it becomes part of a Kafka topic name.
/// </param>
/// <param name="eventType">
/// The event type, e.g. <c>OrderPlaced</c>: 1 to <see cref="OutboxLimits.MaxEventTypeLength"/> of the same
/// characters (a topic template may use it too).
/// </param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false, AllowMultiple = false)]
public sealed class OutboxEventAttribute(string aggregateType, string eventType) : Attribute
{
    /// <summary>The aggregate type written to the row's <c>aggregate_type</c> column.</summary>
    public string AggregateType { get; } = aggregateType;

    /// <summary>The event type written to the row's <c>event_type</c> column.</summary>
    public string EventType { get; } = eventType;
}

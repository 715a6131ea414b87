namespace Atlas.Cdc.Outbox;

/// <summary>
/// Marks the property that holds the event's aggregate id (the row's <c>aggregate_id</c>, the Kafka message key,
/// so events of one aggregate stay in order). Exactly one property of an <see cref="OutboxEventAttribute"/> type
/// carries it. Its value is written as text: strings as they are, other values formatted with the invariant
/// culture (a <see cref="Guid"/> as <c>d</c>). A null or blank value, or one longer than
/// <see cref="OutboxLimits.MaxAggregateIdLength"/> characters, is rejected before anything is written.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class AggregateIdAttribute : Attribute
{
}

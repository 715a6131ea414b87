namespace Atlas.Cdc.Outbox;

/// <summary>
/// One event with what is given per call rather than by the event's type: an idempotency key and extra headers.
/// </summary>
/// <param name="Event">The event: an instance of a type marked with <see cref="OutboxEventAttribute"/>.</param>
public sealed record OutboxEventEntry(object Event)
{
    /// <summary>
    /// The idempotency key; it overrides an <see cref="IdempotencyKeyAttribute"/> property. Null: the property's
    /// value, if any, else no key.
    /// </summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>
    /// Extra headers, carried by the relay as Kafka headers. The relay's own names (<c>id</c>, <c>event_type</c>,
    /// <c>aggregate_type</c>, <c>atlas.*</c>) are refused. A <c>traceparent</c>, <c>tracestate</c> or
    /// <c>baggage</c> given here replaces the one taken from the current activity.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

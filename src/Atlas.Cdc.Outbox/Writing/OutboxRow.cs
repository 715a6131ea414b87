namespace Atlas.Cdc.Outbox.Writing;

/// <summary>One checked, serialized event, ready to insert: nothing about it can fail on the client any more.</summary>
internal sealed record OutboxRow(
    Guid Id,
    string AggregateType,
    string AggregateId,
    string EventType,
    string Payload,
    string? Headers,
    string? IdempotencyKey);

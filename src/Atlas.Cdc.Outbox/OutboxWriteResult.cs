namespace Atlas.Cdc.Outbox;

/// <summary>What happened to one event.</summary>
/// <param name="EventId">
/// The row id the writer gave the event (the Kafka <c>id</c> header). For a duplicate it was not stored: the
/// earlier event with the same key keeps its own id, which an INSERT-only role cannot read.
/// </param>
/// <param name="Inserted">True when a row was inserted; false when an event with the same idempotency key exists.</param>
/// <param name="IdempotencyKey">The key the event was written with, or null.</param>
public readonly record struct OutboxWriteResult(Guid EventId, bool Inserted, string? IdempotencyKey)
{
    /// <summary>True when the event was not written because its idempotency key was already in the outbox.</summary>
    public bool IsDuplicate => !Inserted;
}

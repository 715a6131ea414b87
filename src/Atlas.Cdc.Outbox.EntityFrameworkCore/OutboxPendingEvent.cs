namespace Atlas.Cdc.Outbox.EntityFrameworkCore;

/// <summary>An event added to a <see cref="Microsoft.EntityFrameworkCore.DbContext"/>, waiting for <c>SaveChanges</c>.</summary>
public sealed class OutboxPendingEvent
{
    internal OutboxPendingEvent(Writing.OutboxRow row)
    {
        Row = row;
    }

    /// <summary>The row id the event will have (the Kafka <c>id</c> header).</summary>
    public Guid EventId => Row.Id;

    /// <summary>The event's idempotency key, or null.</summary>
    public string? IdempotencyKey => Row.IdempotencyKey;

    /// <summary>
    /// Null until <c>SaveChanges</c> has written the event; then whether it was inserted or was a duplicate of its
    /// idempotency key. With your own transaction, the event is stored once you commit it.
    /// </summary>
    public OutboxWriteResult? Result { get; internal set; }

    internal Writing.OutboxRow Row { get; }

    /// <summary>Written but not yet committed by the interceptor's own transaction.</summary>
    internal OutboxWriteResult? WrittenResult { get; set; }
}

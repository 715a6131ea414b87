namespace Atlas.Cdc.Publishing;

/// <summary>
/// Why the publisher stopped accepting work. <see cref="IsFatal"/> failures end the process (halt policy, a
/// dead letter that could not be written); the others end the session, which reconnects with a new producer.
/// </summary>
internal sealed class PublishFailure(string message, bool isFatal) : Exception(message)
{
    public bool IsFatal { get; } = isFatal;

    /// <summary>The outbox event the failure is about, when there is one; logged as a property of its own.</summary>
    public string? EventId { get; init; }

    /// <summary>That event's commit LSN, as PostgreSQL prints it.</summary>
    public string? CommitLsn { get; init; }
}

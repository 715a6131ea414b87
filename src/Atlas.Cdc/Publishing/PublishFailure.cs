namespace Atlas.Cdc.Publishing;

/// <summary>
/// Why the publisher stopped accepting work. <see cref="IsFatal"/> failures end the process (halt policy, a
/// dead letter that could not be written); the others end the session, which reconnects with a new producer.
/// </summary>
internal sealed class PublishFailure(string message, bool isFatal) : Exception(message)
{
    public bool IsFatal { get; } = isFatal;
}

namespace Atlas.Cdc.Publishing;

/// <summary>
/// Holds the failure that ended the publisher: set from the publishing loop, librdkafka's delivery-report thread
/// and its error callback, possibly at the same moment. The first failure is kept, except that a fatal one
/// replaces a transient one: a Halt must end the process (exit 3) even when purge errors or a broken producer
/// are reported around it; otherwise the relay would reconnect instead of stopping.
/// </summary>
internal sealed class FailureLatch
{
    private PublishFailure? _failure;

    /// <summary>The failure kept, or null while the publisher works.</summary>
    public PublishFailure? Current => Volatile.Read(ref _failure);

    /// <summary>Records <paramref name="failure"/>; returns true when it is now the one kept (the caller logs it).</summary>
    public bool TrySet(PublishFailure failure)
    {
        while (true)
        {
            var current = Volatile.Read(ref _failure);
            if (current is not null && (current.IsFatal || !failure.IsFatal))
                return false;
            if (ReferenceEquals(Interlocked.CompareExchange(ref _failure, failure, current), current))
                return true;
            // Another thread set one in between: decide again against it.
        }
    }
}

namespace Atlas.Cdc.Offsets;

/// <summary>
/// One decoded transaction on its way to Kafka. Created at BEGIN, sealed at COMMIT; confirmable once sealed and
/// every event of it has been acknowledged.
/// </summary>
internal sealed class TrackedTransaction(ulong commitLsn, DateTimeOffset commitTime)
{
    private long _pending;
    private ulong _endLsn;
    private volatile bool _sealed;
    private byte[]? _commitLsnHeader;
    private byte[]? _commitTimeHeader;

    /// <summary>LSN of the commit record (what pgoutput calls the final LSN); published in the commit LSN header.</summary>
    public ulong CommitLsn { get; } = commitLsn;

    /// <summary>The commit timestamp PostgreSQL sent with BEGIN (pgoutput v1 streams committed transactions only).</summary>
    public DateTimeOffset CommitTime { get; } = commitTime;

    /// <summary>
    /// The commit LSN as its header value, formatted once per transaction rather than once per message. Built on
    /// first use by whichever thread asks (publishing loop, delivery thread): both would build the same bytes from
    /// immutable fields, so a race only formats it twice. The array is shared by every message of the
    /// transaction and must not be written to (librdkafka copies header values at produce).
    /// </summary>
    public byte[] CommitLsnHeader => Volatile.Read(ref _commitLsnHeader) ?? CacheHeader(ref _commitLsnHeader, HeaderValues.CommitLsn(CommitLsn));

    /// <summary>The commit time as its header value (RFC 3339, UTC, microseconds); cached like <see cref="CommitLsnHeader"/>.</summary>
    public byte[] CommitTimeHeader => Volatile.Read(ref _commitTimeHeader) ?? CacheHeader(ref _commitTimeHeader, HeaderValues.CommitTime(CommitTime));

    private static byte[] CacheHeader(ref byte[]? field, byte[] value)
    {
        Volatile.Write(ref field, value);
        return value;
    }

    /// <summary>End of the commit record: confirming it tells PostgreSQL never to send this transaction again.</summary>
    public ulong EndLsn => Volatile.Read(ref _endLsn);

    /// <summary>Sealed and nothing pending. Reading the seal first makes every earlier send visible.</summary>
    public bool IsComplete => _sealed && Interlocked.Read(ref _pending) == 0;

    internal void AddPending() => Interlocked.Increment(ref _pending);

    internal void RemovePending() => Interlocked.Decrement(ref _pending);

    internal void Seal(ulong endLsn)
    {
        Volatile.Write(ref _endLsn, endLsn);
        _sealed = true;
    }
}

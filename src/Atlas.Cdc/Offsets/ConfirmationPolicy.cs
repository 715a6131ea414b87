namespace Atlas.Cdc.Offsets;

/// <summary>
/// The one rule for what the relay may tell PostgreSQL it has flushed (the slot's <c>confirmed_flush_lsn</c>):
/// <list type="bullet">
/// <item>the highest LSN Kafka has acknowledged everything up to (<see cref="AcknowledgementTracker.AdvanceConfirmable"/>);</item>
/// <item>when the relay is idle (nothing in flight, no transaction open or waiting for acknowledgements), the
/// server's own position instead, keepalives included, so a quiet outbox does not pin WAL while other tables write;</item>
/// <item>never below what was already confirmed: PostgreSQL 15 would move <c>confirmed_flush_lsn</c> back.</item>
/// </list>
/// </summary>
/// <remarks>
/// Why the idle case is safe. The server position is read <em>before</em> the idle check, here and nowhere else.
/// The reader counts each event and transaction in the tracker before it asks for the next message, and the
/// server position only moves when a message arrives; so a transaction whose COMMIT the position already covers
/// was in the tracker before the position was read, and keeps the relay from looking idle until Kafka has
/// acknowledged all of it. A transaction begun after the read ends above the position read, so confirming that
/// position sends it again after a restart rather than skipping it. Confirming the server position while anything
/// is in flight would move the slot past events never delivered (ENVIRONMENT.md, "Npgsql replication: one trap").
/// </remarks>
internal sealed class ConfirmationPolicy
{
    private readonly AcknowledgementTracker _tracker;
    private readonly Func<ulong> _serverPosition;
    private long _confirmable;
    private long _confirmed;

    /// <param name="tracker">What Kafka has acknowledged, in commit order.</param>
    /// <param name="serverPosition">The highest position the server has sent (Npgsql's <c>LastReceivedLsn</c>).</param>
    /// <param name="slotConfirmed">The slot's <c>confirmed_flush_lsn</c> when the session started.</param>
    public ConfirmationPolicy(AcknowledgementTracker tracker, Func<ulong> serverPosition, ulong slotConfirmed)
    {
        _tracker = tracker;
        _serverPosition = serverPosition;
        _confirmed = (long)slotConfirmed;
        _confirmable = (long)slotConfirmed;
    }

    /// <summary>The last position PostgreSQL was sent (or the slot's, before the first).</summary>
    public ulong Confirmed => (ulong)Interlocked.Read(ref _confirmed);

    /// <summary>
    /// The highest position safe to skip next time (acknowledged, or seen while idle). Acknowledgements keep
    /// arriving after a session ends, so read it once the tracker has drained.
    /// </summary>
    public ulong Acknowledged => Raise(_tracker.AdvanceConfirmable());

    /// <summary>The position to confirm now, or null when it would not move the slot forward.</summary>
    public ulong? Next()
    {
        var server = _serverPosition(); // first: see the remarks
        var acknowledged = _tracker.AdvanceConfirmable();
        var lsn = Raise(_tracker.IsIdle ? Math.Max(acknowledged, server) : acknowledged);
        return lsn > Confirmed ? lsn : null;
    }

    /// <summary>Records that <paramref name="lsn"/> (from <see cref="Next"/>) was sent to PostgreSQL.</summary>
    public void MarkConfirmed(ulong lsn)
    {
        if (lsn > Confirmed)
            Interlocked.Exchange(ref _confirmed, (long)lsn);
    }

    private ulong Raise(ulong candidate)
    {
        while (true)
        {
            var current = Interlocked.Read(ref _confirmable);
            if (candidate <= (ulong)current || Interlocked.CompareExchange(ref _confirmable, (long)candidate, current) == current)
                return Math.Max(candidate, (ulong)current);
        }
    }
}

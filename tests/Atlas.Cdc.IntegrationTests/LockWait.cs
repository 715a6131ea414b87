namespace Atlas.Cdc.IntegrationTests;

/// <summary>One INSERT seen waiting on a heavyweight lock, and the backend holding the lock it wants (if PostgreSQL named one).</summary>
internal sealed record LockWait(string WaitEvent, string LockType, string Mode, string Relation, int BlockerPid, string BlockerType, string BlockerQuery)
{
    /// <summary>
    /// Two inserts growing the table at once: PostgreSQL serialises extending a relation with its extension lock,
    /// so concurrent writers can briefly wait on each other. Nothing else (a DELETE, VACUUM) takes that lock on
    /// the outbox, so such a wait is the writers' own, whether or not the holder was still there to be named.
    /// </summary>
    public bool IsBetweenWriters =>
        LockType == "extend" && (BlockerPid == 0 || BlockerQuery.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase));

    public override string ToString() =>
        $"INSERT waited ({WaitEvent}) for {Mode} on {LockType} {Relation}, " +
        (BlockerPid == 0 ? "holder gone before it could be named" : $"held by {BlockerType} pid {BlockerPid} running: {BlockerQuery}");
}

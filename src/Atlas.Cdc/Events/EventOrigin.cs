namespace Atlas.Cdc.Events;

/// <summary>Where an event was read; events read from the table carry a header that says so.</summary>
internal enum EventOrigin
{
    /// <summary>Decoded from the replication slot.</summary>
    Stream,

    /// <summary>Read from the outbox table by a first-start backfill or a slot recovery (header <c>atlas.snapshot: true</c>).</summary>
    Snapshot,

    /// <summary>Published again by the <c>replay</c> command (header <c>atlas.replayed: true</c>).</summary>
    Replay,
}

namespace Atlas.Cdc.Hosting;

/// <summary>Where a <see cref="ReplicationSession"/> is in its life; <see cref="SessionLifecycle"/> lists the moves.</summary>
internal enum SessionPhase
{
    /// <summary>Checking the database, claiming and preparing the slot (with any backfill or recovery).</summary>
    Preparing,

    /// <summary>Replication started; waiting until pg_replication_slots shows this connection holds the slot.</summary>
    Starting,

    /// <summary>Holding the slot: reading, publishing, confirming on an interval.</summary>
    Streaming,

    /// <summary>Shutdown: the reader finishes the transaction it is in and parks at the next BEGIN.</summary>
    Draining,

    /// <summary>Reading has stopped (at a boundary, or wherever it was at the deadline); waiting for Kafka, then confirming.</summary>
    Flushing,

    /// <summary>Ended by shutdown.</summary>
    Stopped,

    /// <summary>Ended by a failure; only what Kafka acknowledged was confirmed.</summary>
    Failed,
}

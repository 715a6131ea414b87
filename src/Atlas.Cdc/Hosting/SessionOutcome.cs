using Atlas.Cdc.Offsets;

namespace Atlas.Cdc.Hosting;

/// <summary>How a <see cref="ReplicationSession"/> ended; the worker decides from it what comes next.</summary>
/// <param name="Failure">Null when the session ended because the relay is shutting down; else what ended it.</param>
/// <param name="Streamed">Whether the session held the slot and streamed before it ended.</param>
/// <param name="Tracker">The last tracker that counted events (backfill or stream), to wait for its acknowledgements.</param>
/// <param name="Confirmation">The stream's confirmation rule, if streaming started.</param>
internal sealed record SessionOutcome(Exception? Failure, bool Streamed, AcknowledgementTracker? Tracker, ConfirmationPolicy? Confirmation)
{
    /// <summary>
    /// The highest LSN the next session may start after (acknowledged by Kafka, or seen while idle), even though
    /// this session could not confirm it. Read it after waiting for <see cref="Tracker"/> to drain.
    /// </summary>
    public ulong AcknowledgedLsn => Confirmation?.Acknowledged ?? 0;
}

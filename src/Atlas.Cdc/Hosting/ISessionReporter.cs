using Atlas.Cdc.Offsets;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// What a running session tells whoever started it (the <see cref="Hosting.RelayWorker"/>, which alone writes
/// <see cref="Observability.RelayStatus"/>). How the session ended comes back as a <see cref="SessionOutcome"/>.
/// </summary>
internal interface ISessionReporter
{
    /// <summary>Rows are being published from the outbox table (backfill or recovery) before streaming.</summary>
    void Backfilling();

    /// <summary>Events are now counted by <paramref name="tracker"/> (the backfill's, then the stream's).</summary>
    void Tracking(AcknowledgementTracker tracker);

    /// <summary>This relay holds the slot and streams from it.</summary>
    void Streaming();

    /// <summary>PostgreSQL was sent <paramref name="lsn"/> as the slot's confirmed position.</summary>
    void Confirmed(ulong lsn);
}

using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Publishing;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// The relay's live state. The stream state, tracker, publisher and confirmed LSN are written by the
/// <see cref="Hosting.RelayWorker"/> alone (from what its sessions report), the slot figures by the
/// <see cref="Hosting.SlotMonitor"/>; retention, the progress recorder, the HTTP endpoints and the metrics read.
/// </summary>
internal sealed class RelayStatus(CdcOptions options, StreamStatus stream)
{
    private volatile AcknowledgementTracker? _tracker;
    private volatile KafkaPublisher? _publisher;
    private long _confirmedLsn;
    private long _serverWalLsn;
    private long _restartLsn;
    private volatile bool _slotStatsKnown;

    public StreamState State
    {
        get => stream.State;
        set => stream.State = value;
    }

    public AcknowledgementTracker? Tracker { get => _tracker; set => _tracker = value; }

    public KafkaPublisher? Publisher { get => _publisher; set => _publisher = value; }

    public ulong ConfirmedLsn
    {
        get => (ulong)Interlocked.Read(ref _confirmedLsn);
        set => Interlocked.Exchange(ref _confirmedLsn, (long)value);
    }

    /// <summary>Records the slot's figures as read from pg_replication_slots.</summary>
    public void SetSlotStats(ulong serverWalLsn, ulong restartLsn, ulong confirmedFlushLsn)
    {
        Interlocked.Exchange(ref _serverWalLsn, (long)serverWalLsn);
        Interlocked.Exchange(ref _restartLsn, (long)restartLsn);
        if (State != StreamState.Streaming)
            ConfirmedLsn = confirmedFlushLsn; // while streaming, the relay's own value is the fresher one
        _slotStatsKnown = true;
    }

    /// <summary>Server WAL position minus the confirmed LSN, or null before the first reading.</summary>
    public long? ReplicationLagBytes => _slotStatsKnown
        ? Math.Max(0, Interlocked.Read(ref _serverWalLsn) - (long)ConfirmedLsn)
        : null;

    /// <summary>Server WAL position minus the slot's restart_lsn: the WAL PostgreSQL keeps for this slot.</summary>
    public long? RetainedWalBytes => _slotStatsKnown
        ? Math.Max(0, Interlocked.Read(ref _serverWalLsn) - Interlocked.Read(ref _restartLsn))
        : null;

    /// <summary>
    /// atlas_cdc_lag_seconds: time since the commit of the oldest transaction Kafka has not fully acknowledged
    /// (see <see cref="AcknowledgementTracker.Lag"/>); zero when caught up or before the first session.
    /// </summary>
    public TimeSpan Lag => _tracker?.Lag ?? TimeSpan.Zero;

    /// <summary>
    /// Ready: streaming, the producer works, brokers are reachable, and Kafka is making progress: while events wait,
    /// it acknowledged one within <c>Cdc:Kafka:UnhealthyAfter</c>. Progress, not age: a large transaction or a
    /// backlog that takes minutes to deliver keeps the relay ready as long as acknowledgements flow.
    /// </summary>
    public bool IsReady(out string reason)
    {
        if (State != StreamState.Streaming)
        {
            reason = $"stream state is {State.ToString().ToLowerInvariant()}";
            return false;
        }
        var publisher = _publisher;
        if (publisher is null || publisher.Failure is not null)
        {
            reason = "the Kafka producer is not working";
            return false;
        }
        if (!publisher.BrokersReachable)
        {
            reason = "all Kafka brokers are down";
            return false;
        }
        if (publisher.ValueFormatProblem is { } valueProblem)
        {
            reason = valueProblem;
            return false;
        }
        if (_tracker is { } tracker && tracker.StalledFor is var stalled && stalled > options.Kafka.UnhealthyAfter)
        {
            reason = $"Kafka has acknowledged nothing for {Durations.Format(TimeSpan.FromSeconds(Math.Round(stalled.TotalSeconds)))} while {tracker.InFlightEvents} events wait";
            return false;
        }
        reason = "streaming";
        return true;
    }
}

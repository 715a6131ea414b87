using System.Runtime.InteropServices;
using Atlas.Cdc.Observability;
using Prometheus;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// The gauges of the relay's state, read from <see cref="RelayStatus"/> just before each scrape (the registry's
/// before-collect callback), so they are never stale and cost nothing between scrapes.
/// </summary>
internal sealed class StatusGauges
{
    private readonly RelayStatus _status;
    private readonly Gauge _inFlightEvents;
    private readonly Gauge _inFlightBytes;
    private readonly Gauge _producerQueue;
    private readonly Gauge _lag;
    private readonly Gauge _confirmedLsn;
    private readonly Gauge _replicationLag;
    private readonly Gauge _retainedWal;
    private readonly Gauge _ready;
    private readonly Dictionary<StreamState, Gauge.Child> _states = [];

    public StatusGauges(CollectorRegistry registry, RelayStatus status)
    {
        _status = status;
        var factory = MetricFactories.For(registry);
        // Missing until the first reading of pg_replication_slots, rather than a misleading 0.
        var untilRead = new GaugeConfiguration { SuppressInitialValue = true };

        _inFlightEvents = factory.CreateGauge("atlas_cdc_events_in_flight", "Events sent to Kafka and not yet acknowledged.");
        _inFlightBytes = factory.CreateGauge("atlas_cdc_in_flight_bytes", "Bytes of events sent to Kafka and not yet acknowledged.");
        _producerQueue = factory.CreateGauge("atlas_cdc_producer_queue_messages",
            "Messages handed to the Kafka producer (librdkafka's queue) whose delivery report has not arrived yet.");
        _lag = factory.CreateGauge("atlas_cdc_lag_seconds",
            "Seconds since the commit of the oldest transaction Kafka has not fully acknowledged; 0 when caught up.");
        _confirmedLsn = factory.CreateGauge("atlas_cdc_confirmed_lsn", "Last LSN confirmed to PostgreSQL (as a number).");
        _replicationLag = factory.CreateGauge("atlas_cdc_replication_lag_bytes", "Server WAL position minus the confirmed LSN.", untilRead);
        _retainedWal = factory.CreateGauge("atlas_cdc_slot_retained_wal_bytes",
            "Server WAL position minus the slot's restart_lsn: WAL kept on disk for this slot.", untilRead);
        _ready = factory.CreateGauge("atlas_cdc_ready", "1 while streaming with a working producer (what /readyz answers).");

        var state = factory.CreateGauge("atlas_cdc_stream_state", "1 for the relay's current stream state, 0 for the others.", "state");
        foreach (var value in Enum.GetValues<StreamState>())
            _states[value] = state.WithLabels(value.ToString().ToLowerInvariant());

        factory.CreateGauge("atlas_cdc_build_info", "Always 1; the labels say which relay version and .NET runtime run.", "version", "runtime")
            .WithLabels(RelayMetrics.Version, RuntimeInformation.FrameworkDescription).Set(1);

        registry.AddBeforeCollectCallback(Read);
    }

    private void Read()
    {
        var tracker = _status.Tracker;
        _inFlightEvents.Set(tracker?.InFlightEvents ?? 0);
        _inFlightBytes.Set(tracker?.InFlightBytes ?? 0);
        _producerQueue.Set(_status.Publisher?.QueuedMessages ?? 0);
        _lag.Set(_status.Lag.TotalSeconds);
        _confirmedLsn.Set(_status.ConfirmedLsn);
        SetOrHide(_replicationLag, _status.ReplicationLagBytes);
        SetOrHide(_retainedWal, _status.RetainedWalBytes);
        _ready.Set(_status.IsReady(out _) ? 1 : 0);
        var current = _status.State;
        foreach (var (state, child) in _states)
            child.Set(state == current ? 1 : 0);
    }

    private static void SetOrHide(Gauge gauge, long? value)
    {
        if (value is { } v)
            gauge.Set(v);
        else
            gauge.Unpublish();
    }
}

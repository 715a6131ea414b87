using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Atlas.Cdc.Observability;

/// <summary>
/// The relay's instruments, on the <c>Atlas.Cdc</c> meter. Names are already Prometheus names; the exporter
/// only adds <c>_total</c> to counters. Gauges are read from <see cref="RelayStatus"/> at scrape time.
/// Create the exporter first: counters without labels start at 0 here, so rate() and increase() have a series
/// from the first scrape, and a listener that comes later misses those zeros.
/// </summary>
internal sealed class RelayMetrics : IDisposable
{
    public const string MeterName = "Atlas.Cdc";

    /// <summary>Latency buckets in seconds: fine below 100 ms, where the relay is meant to live.</summary>
    private static readonly double[] s_latencyBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _published;
    private readonly Counter<long> _publishErrors;
    private readonly Histogram<double> _latency;

    public RelayMetrics(RelayStatus status)
    {
        _published = _meter.CreateCounter<long>("atlas_cdc_events_published", "{event}", "Events acknowledged by Kafka, by topic.");
        DeadLettered = _meter.CreateCounter<long>("atlas_cdc_events_dead_lettered", "{event}", "Events Kafka refused for good, written to the dead-letter topic.");
        _publishErrors = _meter.CreateCounter<long>("atlas_cdc_publish_errors", "{error}", "Delivery errors reported by the Kafka producer, by librdkafka error code.");
        HeaderWarnings = _meter.CreateCounter<long>("atlas_cdc_header_warnings", "{event}", "Events whose headers column could not be carried entry by entry.");
        Reconnects = _meter.CreateCounter<long>("atlas_cdc_reconnects", "{reconnect}", "Replication sessions ended by a transient failure and started again.");
        Transactions = _meter.CreateCounter<long>("atlas_cdc_transactions", "{transaction}", "Transactions decoded from the slot.");
        RowsDeleted = _meter.CreateCounter<long>("atlas_cdc_outbox_rows_deleted", "{row}", "Outbox rows deleted by retention (delivered and older than Cdc:Retention:Age).");
        RetentionErrors = _meter.CreateCounter<long>("atlas_cdc_retention_errors", "{error}", "Outbox retention runs that failed.");
        _latency = _meter.CreateHistogram("atlas_cdc_end_to_end_latency_seconds", "s",
            "From the transaction's commit in PostgreSQL to Kafka's acknowledgement.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_latencyBuckets });
        SlotRecoveries = _meter.CreateCounter<long>("atlas_cdc_slot_recoveries", "{recovery}", "Slots found dropped or invalidated and recovered by publishing again every row not proven delivered.");
        EventsRepublished = _meter.CreateCounter<long>("atlas_cdc_events_republished", "{event}", "Events published again by slot recoveries (rows not proven delivered), acknowledged by Kafka.");
        EventsBackfilled = _meter.CreateCounter<long>("atlas_cdc_events_backfilled", "{event}", "Events published from the outbox table by a first-start backfill, acknowledged by Kafka.");
        RowsMissing = _meter.CreateCounter<long>("atlas_cdc_recovery_rows_missing", "{row}", "Rows not proven delivered that a recovery found deleted from the outbox: lost events.");
        SlotRecoveries.Add(0);
        EventsRepublished.Add(0);
        EventsBackfilled.Add(0);
        RowsMissing.Add(0);
        DeadLettered.Add(0);
        HeaderWarnings.Add(0);
        Reconnects.Add(0);
        Transactions.Add(0);

        _meter.CreateObservableGauge("atlas_cdc_events_in_flight", () => status.Tracker?.InFlightEvents ?? 0, "{event}",
            "Events sent to Kafka and not yet acknowledged.");
        _meter.CreateObservableGauge("atlas_cdc_in_flight_bytes", () => status.Tracker?.InFlightBytes ?? 0, "By",
            "Bytes of events sent to Kafka and not yet acknowledged.");
        _meter.CreateObservableGauge("atlas_cdc_producer_queue_messages", () => status.Publisher?.QueuedMessages ?? 0, "{message}",
            "Messages handed to the Kafka producer (librdkafka's queue) whose delivery report has not arrived yet.");
        _meter.CreateObservableGauge("atlas_cdc_lag_seconds", () => (status.Tracker?.OldestPendingAge(out _) ?? TimeSpan.Zero).TotalSeconds, "s",
            "Age of the oldest transaction not yet fully acknowledged by Kafka; 0 when caught up.");
        _meter.CreateObservableGauge("atlas_cdc_confirmed_lsn", () => (double)status.ConfirmedLsn, "",
            "Last LSN confirmed to PostgreSQL (as a number).");
        _meter.CreateObservableGauge("atlas_cdc_replication_lag_bytes", () => Optional(status.ReplicationLagBytes), "By",
            "Server WAL position minus the confirmed LSN.");
        _meter.CreateObservableGauge("atlas_cdc_slot_retained_wal_bytes", () => Optional(status.RetainedWalBytes), "By",
            "Server WAL position minus the slot's restart_lsn: WAL kept on disk for this slot.");
        _meter.CreateObservableGauge("atlas_cdc_stream_state", () => StateMeasurements(status.State), "",
            "1 for the relay's current stream state, 0 for the others.");
        _meter.CreateObservableGauge("atlas_cdc_ready", () => status.IsReady(out _) ? 1 : 0, "",
            "1 while streaming with a working producer (what /readyz answers).");
        var buildLabels = new KeyValuePair<string, object?>[]
        {
            new("version", Version),
            new("runtime", RuntimeInformation.FrameworkDescription),
        };
        _meter.CreateObservableGauge("atlas_cdc_build_info", () => new Measurement<int>(1, buildLabels), "",
            "Always 1; the labels say which relay version and .NET runtime run.");
    }

    /// <summary>The relay's informational version (without the source revision suffix).</summary>
    public static string Version { get; } =
        (typeof(RelayMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    public Counter<long> DeadLettered { get; }

    public Counter<long> HeaderWarnings { get; }

    public Counter<long> Reconnects { get; }

    public Counter<long> Transactions { get; }

    public Counter<long> RowsDeleted { get; }

    public Counter<long> SlotRecoveries { get; }

    public Counter<long> EventsRepublished { get; }

    public Counter<long> EventsBackfilled { get; }

    public Counter<long> RowsMissing { get; }

    public Counter<long> RetentionErrors { get; }

    public void RecordPublished(string topic, DateTimeOffset? commitTime)
    {
        _published.Add(1, new KeyValuePair<string, object?>("topic", topic));
        if (commitTime is { } committed)
            _latency.Record(Math.Max((DateTimeOffset.UtcNow - committed).TotalSeconds, 0));
    }

    public void RecordPublishError(string kind) => _publishErrors.Add(1, new KeyValuePair<string, object?>("kind", kind));

    private static IEnumerable<Measurement<double>> Optional(long? value) =>
        value is { } v ? [new Measurement<double>(v)] : [];

    private static IEnumerable<Measurement<int>> StateMeasurements(StreamState current)
    {
        foreach (var state in Enum.GetValues<StreamState>())
            yield return new Measurement<int>(state == current ? 1 : 0,
                new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant()));
    }

    public void Dispose() => _meter.Dispose();
}

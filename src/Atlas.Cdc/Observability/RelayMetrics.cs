using System.Reflection;
using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>
/// The relay's counters and latency histogram, on the host's registry (prometheus-net). Names are the exported
/// names. A new counter is one line: <c>public RelayCounter Name { get; } = new(registry, "atlas_cdc_..._total", "help");</c>;
/// a labelled one is a prometheus-net <see cref="Counter"/> field made like <c>_published</c>, with a Record method.
/// The gauges of the relay's state are read at scrape time by the host (Hosting/StatusGauges.cs).
/// </summary>
internal sealed class RelayMetrics(CollectorRegistry registry)
{
    /// <summary>Latency buckets in seconds: fine below 100 ms, where the relay is meant to live.</summary>
    private static readonly double[] s_latencyBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    // Labelled series appear with their first event: a topic or error kind is not known before.
    private readonly Counter _published = MetricFactories.For(registry).CreateCounter(
        "atlas_cdc_events_published_total", "Events acknowledged by Kafka, by topic.", "topic");

    private volatile PublishedSeries? _lastPublished;

    private sealed record PublishedSeries(string Topic, Counter.Child Counter);

    private readonly Counter _publishErrors = MetricFactories.For(registry).CreateCounter(
        "atlas_cdc_publish_errors_total", "Delivery errors reported by the Kafka producer, by librdkafka error code.", "kind");

    private readonly Histogram _latency = MetricFactories.For(registry).CreateHistogram(
        "atlas_cdc_end_to_end_latency_seconds", "From the transaction's commit in PostgreSQL to Kafka's acknowledgement.",
        new HistogramConfiguration { Buckets = s_latencyBuckets });

    /// <summary>The relay's informational version (without the source revision suffix).</summary>
    public static string Version { get; } =
        (typeof(RelayMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    /// <summary>Events Kafka refused for good, written to the dead-letter topic.</summary>
    public RelayCounter DeadLettered { get; } = new(registry, "atlas_cdc_events_dead_lettered_total",
        "Events Kafka refused for good, written to the dead-letter topic.");

    /// <summary>Events whose headers column could not be carried entry by entry.</summary>
    public RelayCounter HeaderWarnings { get; } = new(registry, "atlas_cdc_header_warnings_total",
        "Events whose headers column could not be carried entry by entry.");

    /// <summary>Replication sessions ended by a transient failure and started again.</summary>
    public RelayCounter Reconnects { get; } = new(registry, "atlas_cdc_reconnects_total",
        "Replication sessions ended by a transient failure and started again.");

    /// <summary>Transactions decoded from the slot.</summary>
    public RelayCounter Transactions { get; } = new(registry, "atlas_cdc_transactions_total", "Transactions decoded from the slot.");

    /// <summary>Outbox rows deleted by retention.</summary>
    public RelayCounter RowsDeleted { get; } = new(registry, "atlas_cdc_outbox_rows_deleted_total",
        "Outbox rows deleted by retention (delivered and older than Cdc:Retention:Age).");

    /// <summary>Outbox retention runs that failed.</summary>
    public RelayCounter RetentionErrors { get; } = new(registry, "atlas_cdc_retention_errors_total", "Outbox retention runs that failed.");

    /// <summary>Slots found dropped or invalidated and recovered.</summary>
    public RelayCounter SlotRecoveries { get; } = new(registry, "atlas_cdc_slot_recoveries_total",
        "Slots found dropped or invalidated and recovered by publishing again every row not proven delivered.");

    /// <summary>Events published again by slot recoveries, acknowledged by Kafka.</summary>
    public RelayCounter EventsRepublished { get; } = new(registry, "atlas_cdc_events_republished_total",
        "Events published again by slot recoveries (rows not proven delivered), acknowledged by Kafka.");

    /// <summary>Events published from the outbox table by a first-start backfill, acknowledged by Kafka.</summary>
    public RelayCounter EventsBackfilled { get; } = new(registry, "atlas_cdc_events_backfilled_total",
        "Events published from the outbox table by a first-start backfill, acknowledged by Kafka.");

    /// <summary>Rows not proven delivered that a recovery found deleted from the outbox: lost events.</summary>
    public RelayCounter RowsMissing { get; } = new(registry, "atlas_cdc_recovery_rows_missing_total",
        "Rows not proven delivered that a recovery found deleted from the outbox: lost events.");

    /// <summary>
    /// Counts an event Kafka acknowledged and records its latency from the commit in PostgreSQL; events read from
    /// the table (backfill, recovery) have no exact commit time and stay out of the histogram.
    /// </summary>
    public void RecordPublished(string topic, DateTimeOffset? commitTime)
    {
        // WithLabels looks the series up (and allocates) on every call: keep the last topic's series, since
        // acknowledgements come in runs of one topic. Two threads racing here only look it up twice.
        var series = _lastPublished;
        if (series is null || !string.Equals(series.Topic, topic, StringComparison.Ordinal))
            _lastPublished = series = new PublishedSeries(topic, _published.WithLabels(topic));
        series.Counter.Inc();
        if (commitTime is { } committed)
            _latency.Observe(Math.Max((DateTimeOffset.UtcNow - committed).TotalSeconds, 0));
    }

    /// <summary>Counts a delivery report with an error, by librdkafka error code.</summary>
    public void RecordPublishError(string kind) => _publishErrors.WithLabels(kind).Inc();
}

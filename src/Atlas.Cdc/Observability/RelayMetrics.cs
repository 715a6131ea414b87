using System.Reflection;
using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>
/// The relay's counters and latency histogram, on the host's registry (prometheus-net). Names are the exported
/// names. The metrics of events carry an <c>outbox</c> label (the name in <c>Cdc:Outboxes</c>, <c>default</c> for
/// the <c>Cdc:Table</c> shorthand); those of the slot and the session do not. A new counter is a property set in the
/// constructor: a <see cref="RelayCounter"/>, or an <see cref="OutboxCounter"/> for one series per outbox. The gauges
/// of the relay's state are read at scrape time by the host.
/// </summary>
internal sealed class RelayMetrics
{
    public const string OutboxLabel = "outbox";

    /// <summary>Latency buckets in seconds: fine below 100 ms, where the relay is meant to live.</summary>
    private static readonly double[] s_latencyBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    // Series by topic appear with their first event: a topic or error kind is not known before.
    private readonly Counter _published;

    /// <summary>The last topic's series of each outbox, by its position.</summary>
    private readonly PublishedSeries?[] _lastPublished;

    private sealed record PublishedSeries(string Topic, Counter.Child Counter);

    private readonly Counter _publishErrors;

    /// <summary>The latency histogram's series of each outbox, by its position.</summary>
    private readonly Histogram.Child[] _latency;

    private readonly string[] _outboxes;

    /// <param name="outboxes">The outboxes' names in catalog order (<c>OutboxCatalog.All</c>).</param>
    public RelayMetrics(CollectorRegistry registry, IReadOnlyList<string> outboxes)
    {
        _outboxes = [.. outboxes];
        var factory = MetricFactories.For(registry);
        _published = factory.CreateCounter("atlas_cdc_events_published_total", "Events acknowledged by Kafka, by outbox and topic.",
            OutboxLabel, "topic");
        _lastPublished = new PublishedSeries?[outboxes.Count];
        _publishErrors = factory.CreateCounter("atlas_cdc_publish_errors_total",
            "Delivery errors reported by the Kafka producer, by librdkafka error code.", "kind");
        var latency = factory.CreateHistogram("atlas_cdc_end_to_end_latency_seconds",
            "From the transaction's commit in PostgreSQL to Kafka's acknowledgement, by outbox.",
            new HistogramConfiguration { Buckets = s_latencyBuckets, LabelNames = [OutboxLabel] });
        _latency = [.. outboxes.Select(outbox => latency.WithLabels(outbox))];

        DeadLettered = new(registry, "atlas_cdc_events_dead_lettered_total",
            "Events Kafka refused for good, written to the dead-letter topic, by outbox.", outboxes);
        HeaderWarnings = new(registry, "atlas_cdc_header_warnings_total",
            "Events whose headers column could not be carried entry by entry, by outbox.", outboxes);
        Reconnects = new(registry, "atlas_cdc_reconnects_total", "Replication sessions ended by a transient failure and started again.");
        Transactions = new(registry, "atlas_cdc_transactions_total", "Transactions decoded from the slot.");
        RowsDeleted = new(registry, "atlas_cdc_outbox_rows_deleted_total",
            "Outbox rows deleted by retention (delivered and older than Cdc:Retention:Age), by outbox.", outboxes);
        RetentionErrors = new(registry, "atlas_cdc_retention_errors_total", "Outbox retention runs that failed, by outbox.", outboxes);
        SlotRecoveries = new(registry, "atlas_cdc_slot_recoveries_total",
            "Slots found dropped or invalidated and recovered by publishing again every row not proven delivered.");
        EventsRepublished = new(registry, "atlas_cdc_events_republished_total",
            "Events published again by slot recoveries (rows not proven delivered), acknowledged by Kafka, by outbox.", outboxes);
        EventsBackfilled = new(registry, "atlas_cdc_events_backfilled_total",
            "Events published from the outbox table by a first-start backfill, acknowledged by Kafka, by outbox.", outboxes);
        RowsMissing = new(registry, "atlas_cdc_recovery_rows_missing_total",
            "Rows not proven delivered that a recovery found deleted from the outbox: lost events.");
    }

    /// <summary>The relay's informational version (without the source revision suffix).</summary>
    public static string Version { get; } =
        (typeof(RelayMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    /// <summary>Events Kafka refused for good, written to the dead-letter topic.</summary>
    public OutboxCounter DeadLettered { get; }

    /// <summary>Events whose headers column could not be carried entry by entry.</summary>
    public OutboxCounter HeaderWarnings { get; }

    /// <summary>Replication sessions ended by a transient failure and started again.</summary>
    public RelayCounter Reconnects { get; }

    /// <summary>Transactions decoded from the slot.</summary>
    public RelayCounter Transactions { get; }

    /// <summary>Outbox rows deleted by retention.</summary>
    public OutboxCounter RowsDeleted { get; }

    /// <summary>Outbox retention runs that failed.</summary>
    public OutboxCounter RetentionErrors { get; }

    /// <summary>Slots found dropped or invalidated and recovered.</summary>
    public RelayCounter SlotRecoveries { get; }

    /// <summary>Events published again by slot recoveries, acknowledged by Kafka.</summary>
    public OutboxCounter EventsRepublished { get; }

    /// <summary>Events published from the outbox table by a first-start backfill, acknowledged by Kafka.</summary>
    public OutboxCounter EventsBackfilled { get; }

    /// <summary>Rows not proven delivered that a recovery found deleted: the audit keeps no table, so no outbox label.</summary>
    public RelayCounter RowsMissing { get; }

    /// <summary>
    /// Counts an event Kafka acknowledged and records its latency from the commit in PostgreSQL; events read from
    /// the table (backfill, recovery) have no exact commit time and stay out of the histogram.
    /// </summary>
    public void RecordPublished(int outbox, string topic, DateTimeOffset? commitTime)
    {
        // WithLabels looks the series up (and allocates) on every call: keep each outbox's last topic, since
        // acknowledgements come in runs of one topic. Two threads racing here only look it up twice.
        var series = Volatile.Read(ref _lastPublished[outbox]);
        if (series is null || !string.Equals(series.Topic, topic, StringComparison.Ordinal))
            Volatile.Write(ref _lastPublished[outbox], series = new PublishedSeries(topic, _published.WithLabels(_outboxes[outbox], topic)));
        series.Counter.Inc();
        if (commitTime is { } committed)
            _latency[outbox].Observe(Math.Max((DateTimeOffset.UtcNow - committed).TotalSeconds, 0));
    }

    /// <summary>Counts a delivery report with an error, by librdkafka error code.</summary>
    public void RecordPublishError(string kind) => _publishErrors.WithLabels(kind).Inc();
}

using System.Collections.Concurrent;
using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>
/// The value formats' counters, on the host's registry (kept apart from <see cref="RelayMetrics"/>). Each subject's
/// labelled children are looked up once and kept in <see cref="SubjectCounts"/>, so counting an event's lookup on the
/// publishing loop is one increment, not a label lookup.
/// </summary>
internal sealed class SchemaMetrics(CollectorRegistry registry)
{
    private readonly ConcurrentDictionary<string, SubjectCounts> _subjects = new(StringComparer.Ordinal);

    private readonly Counter _lookups = MetricFactories.For(registry).CreateCounter("atlas_cdc_schema_lookups_total",
        "Schema lookups by subject (one per event in the Avro and JsonSchema formats), served from the cache or the registry.", "subject");

    private readonly Counter _misses = MetricFactories.For(registry).CreateCounter("atlas_cdc_schema_cache_misses_total",
        "Schema lookups by subject that asked the registry: first use, refreshes, subjects without a schema.", "subject");

    private readonly Counter _failures = MetricFactories.For(registry).CreateCounter("atlas_cdc_value_conversion_failures_total",
        "Events refused by subject: the payload does not fit the schema, or the subject has no usable schema.", "subject");

    /// <summary>Registry requests that failed transiently; the events wait and are retried.</summary>
    public RelayCounter RegistryErrors { get; } = new(registry, "atlas_cdc_schema_registry_errors_total",
        "Registry requests that failed transiently (unreachable, timeout, 5xx); the events wait and are retried.");

    /// <summary>The counts of one subject, created on first use.</summary>
    public SubjectCounts For(string subject) => _subjects.GetOrAdd(subject,
        s => new SubjectCounts(_lookups.WithLabels(s), _misses.WithLabels(s), _failures.WithLabels(s)));

    /// <summary>Counts of one subject; written by the publishing loop (and a refresh task), read by scrapes.</summary>
    internal sealed class SubjectCounts(Counter.Child lookups, Counter.Child misses, Counter.Child failures)
    {
        public long Lookups => (long)lookups.Value;

        public long Misses => (long)misses.Value;

        public long Failures => (long)failures.Value;

        public void Lookup() => lookups.Inc();

        public void Miss() => misses.Inc();

        public void Failure() => failures.Inc();
    }
}

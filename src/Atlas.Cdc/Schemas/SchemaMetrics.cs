using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Atlas.Cdc.Observability;

namespace Atlas.Cdc.Schemas;

/// <summary>
/// The value formats' instruments, on the relay's meter (kept apart from <see cref="RelayMetrics"/>). Per-subject
/// counts are plain fields bumped on the publishing loop and read at scrape time, so counting each event's
/// lookup costs an increment, not a labelled measurement.
/// </summary>
internal sealed class SchemaMetrics : IDisposable
{
    private readonly Meter _meter = new(RelayMetrics.MeterName);
    private readonly ConcurrentDictionary<string, SubjectCounts> _subjects = new(StringComparer.Ordinal);

    public SchemaMetrics()
    {
        _meter.CreateObservableCounter("atlas_cdc_schema_lookups", () => Per(s => s.Lookups), "{lookup}",
            "Schema lookups by subject (one per event in the Avro and JsonSchema formats), served from the cache or the registry.");
        _meter.CreateObservableCounter("atlas_cdc_schema_cache_misses", () => Per(s => s.Misses), "{lookup}",
            "Schema lookups by subject that asked the registry: first use, refreshes, subjects without a schema.");
        _meter.CreateObservableCounter("atlas_cdc_value_conversion_failures", () => Per(s => s.Failures), "{event}",
            "Events refused by subject: the payload does not fit the schema, or the subject has no usable schema.");
        RegistryErrors = _meter.CreateCounter<long>("atlas_cdc_schema_registry_errors", "{error}",
            "Registry requests that failed transiently (unreachable, timeout, 5xx); the events wait and are retried.");
        RegistryErrors.Add(0);
    }

    public Counter<long> RegistryErrors { get; }

    /// <summary>The counts of one subject, created on first use.</summary>
    public SubjectCounts For(string subject) => _subjects.GetOrAdd(subject, static _ => new SubjectCounts());

    private IEnumerable<Measurement<long>> Per(Func<SubjectCounts, long> read)
    {
        foreach (var (subject, counts) in _subjects)
            yield return new Measurement<long>(read(counts), new KeyValuePair<string, object?>("subject", subject));
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>Counts of one subject; written by the publishing loop (and a refresh task), read by scrapes.</summary>
    internal sealed class SubjectCounts
    {
        private long _lookups;
        private long _misses;
        private long _failures;

        public long Lookups => Interlocked.Read(ref _lookups);

        public long Misses => Interlocked.Read(ref _misses);

        public long Failures => Interlocked.Read(ref _failures);

        public void Lookup() => Interlocked.Increment(ref _lookups);

        public void Miss() => Interlocked.Increment(ref _misses);

        public void Failure() => Interlocked.Increment(ref _failures);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Atlas.Cdc.Observability;

/// <summary>
/// Collects System.Diagnostics.Metrics instruments of the given meters and writes them in the Prometheus text
/// exposition format (version 0.0.4). prometheus-net is not available to this project, and this is all it needs:
/// counters, gauges and explicit-bucket histograms, with OpenTelemetry-style names mapped to Prometheus ones.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The .NET runtime's built-in meter (GC, JIT, thread pool, CPU, working set).</summary>
    public const string RuntimeMeterName = "System.Runtime";

    private static readonly double[] s_defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>
    /// Runtime instruments whose OpenTelemetry names or kinds do not fit Prometheus: gauges named <c>*.count</c>
    /// would take the suffix of a histogram's series, and the runtime publishes two current values (threads,
    /// queue length) as observable counters although they go down.
    /// </summary>
    private static readonly Dictionary<string, (string Name, Kind Kind)> s_overrides = new(StringComparer.Ordinal)
    {
        ["dotnet.assembly.count"] = ("dotnet_assemblies_loaded", Kind.Gauge),
        ["dotnet.process.cpu.count"] = ("dotnet_process_processors", Kind.Gauge),
        ["dotnet.timer.count"] = ("dotnet_timers_active", Kind.Gauge),
        ["dotnet.thread_pool.thread.count"] = ("dotnet_thread_pool_threads", Kind.Gauge),
        ["dotnet.thread_pool.queue.length"] = ("dotnet_thread_pool_queue_length", Kind.Gauge),
    };

    /// <summary>Suffixes Prometheus reserves for counters, histograms and summaries.</summary>
    private static readonly string[] s_reservedSuffixes = ["_total", "_count", "_sum", "_bucket"];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly Lock _scrapeLock = new();

    public PrometheusExporter(params string[] meterNames)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!meterNames.Contains(instrument.Meter.Name, StringComparer.Ordinal))
                return;
            var state = _instruments.GetOrAdd(instrument, static i => new InstrumentState(i));
            listener.EnableMeasurementEvents(instrument, state);
        };
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentState? _);
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>((_, value, tags, state) => ((InstrumentState)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Reads observable instruments and renders every series.</summary>
    public string Scrape()
    {
        lock (_scrapeLock)
        {
            foreach (var state in _instruments.Values)
                state.BeginObservation();
            _listener.RecordObservableInstruments();

            var text = new StringBuilder(16 * 1024);
            foreach (var state in _instruments.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
                state.Write(text);
            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>Maps an instrument name and unit to a Prometheus metric name (dots to underscores, unit suffix, _total).</summary>
    internal static string MetricName(string name, string? unit, bool isCounter)
    {
        var builder = new StringBuilder(name.Length + 16);
        foreach (var c in name)
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        if (builder.Length > 0 && char.IsAsciiDigit(builder[0]))
            builder.Insert(0, '_');
        var metric = builder.ToString();
        var suffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            "%" or "1" when !isCounter => "_ratio",
            _ => "",
        };
        if (suffix.Length > 0 && !metric.EndsWith(suffix, StringComparison.Ordinal))
            metric += suffix;
        if (isCounter && !metric.EndsWith("_total", StringComparison.Ordinal))
            metric += "_total";
        else if (!isCounter && s_reservedSuffixes.Any(reserved => metric.EndsWith(reserved, StringComparison.Ordinal)))
            metric += "_value"; // a gauge named x_count would read as the count series of a histogram x
        return metric;
    }

    internal static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    internal static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private enum Kind { Counter, Gauge, Histogram }

    /// <summary>All series of one instrument.</summary>
    private sealed class InstrumentState
    {
        private readonly Kind _kind;
        private readonly bool _observable;
        private readonly bool _accumulates;
        private readonly string _help;
        private readonly double[] _buckets;
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);

        public InstrumentState(Instrument instrument)
        {
            var type = instrument.GetType();
            var genericName = type.IsGenericType ? type.GetGenericTypeDefinition().Name : type.Name;
            _observable = instrument.IsObservable;
            _kind = genericName switch
            {
                "Counter`1" or "ObservableCounter`1" => Kind.Counter,
                "Histogram`1" => Kind.Histogram,
                _ => Kind.Gauge, // Gauge, ObservableGauge and the UpDownCounters, which can go down
            };
            // Counter and UpDownCounter report deltas; observable instruments and Gauge report the value itself.
            _accumulates = genericName is "Counter`1" or "UpDownCounter`1";
            if (instrument.Meter.Name == RuntimeMeterName && s_overrides.TryGetValue(instrument.Name, out var rename))
            {
                _kind = rename.Kind;
                Name = rename.Name;
            }
            else
            {
                Name = MetricName(instrument.Name, instrument.Unit, _kind == Kind.Counter);
            }
            _help = instrument.Description ?? instrument.Name;
            _buckets = _kind == Kind.Histogram ? BucketsOf(instrument) : [];
        }

        public string Name { get; }

        public void BeginObservation()
        {
            // Observable series are re-read on every scrape: series no longer reported disappear.
            if (_observable)
                _series.Clear();
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = _series.GetOrAdd(LabelsOf(tags), static (_, buckets) => new Series(buckets.Length), _buckets);
            lock (series)
            {
                if (_kind == Kind.Histogram)
                {
                    series.Value += value;
                    series.Count++;
                    var bucket = Array.BinarySearch(_buckets, value);
                    series.BucketCounts[bucket >= 0 ? bucket : ~bucket]++;
                }
                else if (_accumulates)
                    series.Value += value;
                else
                    series.Value = value;
            }
        }

        public void Write(StringBuilder text)
        {
            if (_series.IsEmpty)
                return;
            text.Append("# HELP ").Append(Name).Append(' ').Append(EscapeHelp(_help)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(_kind switch
            {
                Kind.Counter => "counter",
                Kind.Histogram => "histogram",
                _ => "gauge",
            }).Append('\n');

            foreach (var (labels, series) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (_kind != Kind.Histogram)
                    {
                        text.Append(Name).Append(Braced(labels)).Append(' ').Append(FormatValue(series.Value)).Append('\n');
                        continue;
                    }
                    long cumulative = 0;
                    for (var i = 0; i <= _buckets.Length; i++)
                    {
                        cumulative += series.BucketCounts[i];
                        var le = i < _buckets.Length ? FormatValue(_buckets[i]) : "+Inf";
                        var bucketLabels = labels.Length == 0 ? $"le=\"{le}\"" : $"{labels},le=\"{le}\"";
                        text.Append(Name).Append("_bucket{").Append(bucketLabels).Append("} ").Append(cumulative).Append('\n');
                    }
                    text.Append(Name).Append("_sum").Append(Braced(labels)).Append(' ').Append(FormatValue(series.Value)).Append('\n');
                    text.Append(Name).Append("_count").Append(Braced(labels)).Append(' ').Append(series.Count).Append('\n');
                }
            }
        }

        private static string Braced(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

        private static string LabelsOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.IsEmpty)
                return "";
            var pairs = new List<KeyValuePair<string, object?>>(tags.Length);
            foreach (var tag in tags)
                pairs.Add(tag);
            pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            var builder = new StringBuilder();
            foreach (var (key, value) in pairs)
            {
                if (builder.Length > 0)
                    builder.Append(',');
                builder.Append(MetricName(key, null, false)).Append("=\"")
                    .Append(EscapeLabelValue(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")).Append('"');
            }
            return builder.ToString();
        }

        private static double[] BucketsOf(Instrument instrument)
        {
            var advice = instrument.GetType().GetProperty("Advice")?.GetValue(instrument);
            var boundaries = advice?.GetType().GetProperty("HistogramBucketBoundaries")?.GetValue(advice);
            return boundaries switch
            {
                IReadOnlyList<double> list => [.. list],
                IReadOnlyList<long> list => [.. list.Select(v => (double)v)],
                IReadOnlyList<int> list => [.. list.Select(v => (double)v)],
                _ => s_defaultBuckets,
            };
        }
    }

    private sealed class Series(int bucketCount)
    {
        public double Value;
        public long Count;
        public readonly long[] BucketCounts = new long[bucketCount + 1];
    }
}

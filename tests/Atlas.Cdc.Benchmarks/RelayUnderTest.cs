using System.Diagnostics;
using System.Globalization;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// The relay as production runs it: <c>dotnet Atlas.Cdc.dll</c> (Release), configured by environment variables,
/// connecting as the least-privilege role. Progress is read from its own /metrics.
/// </summary>
internal sealed class RelayUnderTest : IAsyncDisposable
{
    private const string PublishedMetric = "atlas_cdc_events_published_total";

    private readonly RelayProcess _process;
    private readonly Stopwatch _sinceStart;

    private RelayUnderTest(RelayProcess process, Stopwatch sinceStart)
    {
        _process = process;
        _sinceStart = sinceStart;
    }

    public int ProcessId => _process.ProcessId;

    /// <summary>Time since the process was started.</summary>
    public TimeSpan Elapsed => _sinceStart.Elapsed;

    public static RelayUnderTest Start(BenchEnvironment environment, BenchDatabase database, string slot, string topicPrefix,
        IReadOnlyDictionary<string, string> extraSettings)
    {
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = database.RelayConnectionString,
            ["Cdc__Kafka__BootstrapServers"] = environment.Kafka.BootstrapServers,
            ["Cdc__Slot"] = slot,
            ["Cdc__TopicTemplate"] = topicPrefix + ".{aggregate_type}",
            ["Cdc__DeadLetter__Topic"] = topicPrefix + ".dlq",
            // Logging as published (appsettings.json beside the assembly), as docs/operations.md starts it: no override here.
        };
        var assembly = environment.RelayAssembly;
        foreach (var (name, value) in extraSettings)
        {
            if (name == RelayVariant.AssemblySetting)
                assembly = value;
            else if (name == RelayVariant.ConnectionStringExtraSetting)
                settings["Cdc__Postgres__ConnectionString"] = database.RelayConnectionString + ";" + value;
            else
                settings[name] = value;
        }
        var stopwatch = Stopwatch.StartNew();
        return new RelayUnderTest(RelayProcess.Start(settings, assembly), stopwatch);
    }

    public Task WaitUntilReadyAsync() => _process.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));

    /// <summary>Events Kafka has acknowledged, summed over topics.</summary>
    public async Task<long> PublishedAsync() => (long)Sum(await _process.GetTextAsync("/metrics"), PublishedMetric);

    /// <summary>
    /// The managed heap's work so far, from the relay's runtime metrics: bytes allocated, gen0/gen1/gen2 collections
    /// and time paused. Start-up is included.
    /// </summary>
    public async Task<ManagedHeapStats> ManagedHeapStatsAsync()
    {
        var text = await _process.GetTextAsync("/metrics");
        return new ManagedHeapStats(
            (long)Sum(text, "dotnet_gc_heap_total_allocated_bytes_total"),
            (long)Sum(text, "dotnet_gc_collections_total{gc_heap_generation=\"gen0\"}"),
            (long)Sum(text, "dotnet_gc_collections_total{gc_heap_generation=\"gen1\"}"),
            (long)Sum(text, "dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}"),
            Sum(text, "dotnet_gc_pause_time_seconds_total"));
    }

    /// <summary>The sum of every sample whose name (and labels, when given) starts the line.</summary>
    private static double Sum(string text, string metric)
    {
        double total = 0;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith(metric, StringComparison.Ordinal) || line.Length <= metric.Length || line[metric.Length] is not (' ' or '{'))
                continue;
            var space = line.LastIndexOf(' ');
            total += double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return total;
    }

    /// <summary>
    /// Polls /metrics every <paramref name="interval"/> until <paramref name="target"/> events are acknowledged.
    /// Returns when the first acknowledgement was seen and when the last one was (both since process start).
    /// </summary>
    public async Task<(TimeSpan FirstAck, TimeSpan Done)> WaitForPublishedAsync(long target, TimeSpan timeout, TimeSpan interval)
    {
        TimeSpan? first = null;
        var deadline = _sinceStart.Elapsed + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                // Waiting for the exit also drains what it printed last.
                var exitCode = await _process.WaitForExitAsync(TimeSpan.FromSeconds(5));
                throw new InvalidOperationException($"The relay exited with code {exitCode} while the benchmark waited for {target} events:\n{_process.Output}");
            }
            long published;
            try
            {
                published = await PublishedAsync();
            }
            catch (HttpRequestException)
            {
                published = 0; // still starting: HTTP not listening yet
            }
            var now = _sinceStart.Elapsed;
            if (published > 0)
                first ??= now;
            if (published >= target)
                return (first!.Value, now);
            if (now > deadline)
                throw new TimeoutException($"The relay acknowledged {published} of {target} events within {timeout}:\n{_process.Output}");
            await Task.Delay(interval);
        }
    }

    public string Output => _process.Output;

    /// <summary>The relay's own commit-to-acknowledgement histogram (atlas_cdc_end_to_end_latency_seconds).</summary>
    public async Task<PrometheusHistogram?> EndToEndLatencyAsync() =>
        PrometheusHistogram.Parse(await _process.GetTextAsync("/metrics"), "atlas_cdc_end_to_end_latency_seconds");

    public async Task StopAsync()
    {
        if (!_process.HasExited)
            await _process.TerminateAsync(TimeSpan.FromSeconds(30));
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>What the relay's garbage collector did, read from its /metrics.</summary>
internal sealed record ManagedHeapStats(long AllocatedBytes, long Gen0, long Gen1, long Gen2, double PauseSeconds);

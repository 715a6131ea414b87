using System.Globalization;
using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>
/// The standard Prometheus process metrics, so dashboards and alerts written for any Prometheus client work on the
/// relay too. prometheus-net's <see cref="DotNetStats"/> gives <c>process_cpu_seconds_total</c>,
/// <c>process_start_time_seconds</c>, <c>process_virtual_memory_bytes</c> and <c>process_num_threads</c> (and a few
/// of its own names); the three standard names it lacks, <c>process_resident_memory_bytes</c>,
/// <c>process_open_fds</c> and <c>process_max_fds</c>, are read here at scrape time (fds from /proc on Linux).
/// </summary>
internal sealed class ProcessMetrics
{
    private const string FdDirectory = "/proc/self/fd";
    private const string LimitsFile = "/proc/self/limits";

    private readonly Gauge _residentMemory;
    private readonly Gauge _openFds;
    private readonly Gauge _maxFds;

    public ProcessMetrics(CollectorRegistry registry)
    {
        DotNetStats.Register(registry);
        var factory = MetricFactories.For(registry);
        // Without /proc (not Linux) the fd gauges are left out rather than reported as 0.
        var whenKnown = new GaugeConfiguration { SuppressInitialValue = true };
        _residentMemory = factory.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
        _openFds = factory.CreateGauge("process_open_fds", "Number of open file descriptors.", whenKnown);
        _maxFds = factory.CreateGauge("process_max_fds", "Maximum number of open file descriptors.", whenKnown);
        registry.AddBeforeCollectCallback(Read);
    }

    private void Read()
    {
        _residentMemory.Set(Environment.WorkingSet); // resident set size on Linux
        if (Directory.Exists(FdDirectory))
            _openFds.Set(Directory.EnumerateFileSystemEntries(FdDirectory).Count());
        if (MaxFileDescriptors() is { } limit)
            _maxFds.Set(limit);
    }

    /// <summary>The soft limit from the "Max open files" line of /proc/self/limits; null elsewhere.</summary>
    private static long? MaxFileDescriptors()
    {
        if (!File.Exists(LimitsFile))
            return null;
        var line = File.ReadLines(LimitsFile).FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is [var soft, ..] && long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
            ? limit
            : null;
    }
}

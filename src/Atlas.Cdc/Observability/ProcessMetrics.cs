using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace Atlas.Cdc.Observability;

/// <summary>
/// The standard Prometheus process metrics (<c>process_cpu_seconds_total</c>, <c>process_resident_memory_bytes</c>,
/// <c>process_start_time_seconds</c>, <c>process_open_fds</c>...), so dashboards and alerts written for any
/// Prometheus client work on the relay too. Read from the OS at scrape time; fds and threads from /proc on Linux.
/// </summary>
internal sealed class ProcessMetrics : IDisposable
{
    public const string MeterName = "Atlas.Cdc.Process";

    private const string FdDirectory = "/proc/self/fd";
    private const string TaskDirectory = "/proc/self/task";
    private const string LimitsFile = "/proc/self/limits";

    private readonly Meter _meter = new(MeterName);

    public ProcessMetrics()
    {
        double startTime;
        using (var process = Process.GetCurrentProcess())
            startTime = (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;

        _meter.CreateObservableCounter("process_cpu_seconds", () => Environment.CpuUsage.TotalTime.TotalSeconds, "s",
            "Total user and system CPU time spent in seconds.");
        _meter.CreateObservableGauge("process_resident_memory_bytes", () => Environment.WorkingSet, "By",
            "Resident memory size in bytes.");
        _meter.CreateObservableGauge("process_virtual_memory_bytes", VirtualMemoryBytes, "By",
            "Virtual memory size in bytes.");
        _meter.CreateObservableGauge("process_start_time_seconds", () => startTime, "s",
            "Start time of the process since unix epoch in seconds.");
        _meter.CreateObservableGauge("process_open_fds", OpenFileDescriptors, "",
            "Number of open file descriptors.");
        _meter.CreateObservableGauge("process_max_fds", MaxFileDescriptors, "",
            "Maximum number of open file descriptors.");
        _meter.CreateObservableGauge("process_num_threads", Threads, "",
            "Number of OS threads in the process.");
    }

    private static long VirtualMemoryBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.VirtualMemorySize64;
    }

    private static IEnumerable<Measurement<int>> OpenFileDescriptors() =>
        Directory.Exists(FdDirectory) ? [new Measurement<int>(Directory.EnumerateFileSystemEntries(FdDirectory).Count())] : [];

    private static IEnumerable<Measurement<int>> Threads()
    {
        if (Directory.Exists(TaskDirectory))
            return [new Measurement<int>(Directory.EnumerateDirectories(TaskDirectory).Count())];
        using var process = Process.GetCurrentProcess();
        return [new Measurement<int>(process.Threads.Count)];
    }

    /// <summary>The soft limit from the "Max open files" line of /proc/self/limits; nothing elsewhere.</summary>
    private static IEnumerable<Measurement<long>> MaxFileDescriptors()
    {
        if (!File.Exists(LimitsFile))
            return [];
        var line = File.ReadLines(LimitsFile).FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is [var soft, ..] && long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
            ? [new Measurement<long>(limit)]
            : [];
    }

    public void Dispose() => _meter.Dispose();
}

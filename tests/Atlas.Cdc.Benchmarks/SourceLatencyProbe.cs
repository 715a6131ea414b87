using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// The latency floor on the source side: pg_recvlogical (test_decoding, to a pipe) sees each row; latency is its
/// arrival minus the row's <c>ts</c>. Nothing downstream of PostgreSQL's walsender is involved, so no relay can do
/// better than this on the same machine at the same moment.
/// </summary>
internal sealed partial class SourceLatencyProbe : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<(DateTimeOffset Committed, DateTimeOffset Received)> _samples = [];

    private SourceLatencyProbe(Process process) => _process = process;

    public static SourceLatencyProbe Start(BenchDatabase database, string slot)
    {
        var startInfo = new ProcessStartInfo(Path.Combine(BenchEnvironment.PostgresBin, "pg_recvlogical"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-d", database.LibpqConnectionString, "--slot", slot, "--start", "-f", "-", "--no-loop" })
            startInfo.ArgumentList.Add(argument);
        var process = new Process { StartInfo = startInfo };
        var probe = new SourceLatencyProbe(process);
        process.OutputDataReceived += (_, e) => probe.OnLine(e.Data);
        process.ErrorDataReceived += (_, _) => { };
        process.Start();
        ChildProcesses.Track(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return probe;
    }

    public int Count
    {
        get
        {
            lock (_samples)
                return _samples.Count;
        }
    }

    private void OnLine(string? line)
    {
        if (line is null || !line.StartsWith("table public.outbox: INSERT:", StringComparison.Ordinal))
            return;
        var received = DateTimeOffset.UtcNow;
        var match = TimestampPattern().Match(line);
        if (!match.Success)
            return;
        var seconds = decimal.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        lock (_samples)
            _samples.Add((DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond)), received));
    }

    public async Task WaitForCountAsync(long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count && DateTime.UtcNow < deadline && !_process.HasExited)
            await Task.Delay(20);
    }

    /// <summary>CPU the pg_recvlogical process has used so far (the client's share of the live client floor).</summary>
    public double? CpuSeconds => ProcessStats.CpuSeconds(_process.Id);

    /// <summary>Latencies of the rows written in [<paramref name="since"/>, <paramref name="until"/>).</summary>
    public LatencyStats Measure(DateTimeOffset since, DateTimeOffset until)
    {
        lock (_samples)
            return LatencyStats.From(_samples.Where(s => s.Committed >= since && s.Committed < until)
                .Select(s => (s.Received - s.Committed).TotalMilliseconds).ToList());
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill();
        await _process.WaitForExitAsync();
        ChildProcesses.Forget(_process);
        _process.Dispose();
    }

    [GeneratedRegex("\"ts\": ([0-9.]+)")]
    private static partial Regex TimestampPattern();
}

using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Atlas.Cdc.Benchmarks;

/// <summary>Runs <see cref="PollingRelay"/> as a child process and follows its <c>published N</c> lines.</summary>
internal sealed class PollingRelayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Stopwatch _sinceStart = Stopwatch.StartNew();
    private readonly StringBuilder _errors = new();
    private long _published;
    private volatile string _phases = "";

    private PollingRelayProcess(Process process) => _process = process;

    public int ProcessId => _process.Id;

    public long Published => Interlocked.Read(ref _published);

    /// <summary>Where the polling relay's time went so far, by phase of its loop.</summary>
    public string Phases => _phases;

    public static PollingRelayProcess Start(BenchEnvironment environment, BenchDatabase database, string topicPrefix,
        IReadOnlyDictionary<string, string> kafkaProperties)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Atlas.Cdc.Benchmarks.dll"));
        foreach (var argument in new[]
                 {
                     "polling-relay", "--connection", database.PollingRelayConnectionString,
                     "--bootstrap", environment.Kafka.BootstrapServers, "--topic-prefix", topicPrefix,
                     "--batch", PollingRelay.DefaultBatchSize.ToString(CultureInfo.InvariantCulture),
                     "--interval-ms", PollingRelay.DefaultIntervalMilliseconds.ToString(CultureInfo.InvariantCulture),
                 })
            startInfo.ArgumentList.Add(argument);
        foreach (var (name, value) in kafkaProperties)
        {
            startInfo.ArgumentList.Add("--kafka");
            startInfo.ArgumentList.Add($"{name}={value}");
        }
        startInfo.Environment["DOTNET_gcServer"] = "0";

        var process = new Process { StartInfo = startInfo };
        var relay = new PollingRelayProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("published ", StringComparison.Ordinal))
                Interlocked.Exchange(ref relay._published, long.Parse(line["published ".Length..], CultureInfo.InvariantCulture));
            else if (e.Data is { } phases && phases.StartsWith("phases ", StringComparison.Ordinal))
                relay._phases = phases["phases ".Length..];
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (relay._errors)
                    relay._errors.AppendLine(e.Data);
        };
        process.Start();
        ChildProcesses.Track(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return relay;
    }

    /// <summary>Waits until <paramref name="target"/> rows are published; returns the time since the process started.</summary>
    public async Task<TimeSpan> WaitForPublishedAsync(long target, TimeSpan timeout)
    {
        var deadline = _sinceStart.Elapsed + timeout;
        while (Published < target)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The polling relay exited with {_process.ExitCode}:\n{Errors}");
            if (_sinceStart.Elapsed > deadline)
                throw new TimeoutException($"The polling relay published {Published} of {target} rows within {timeout}:\n{Errors}");
            await Task.Delay(10);
        }
        return _sinceStart.Elapsed;
    }

    private string Errors
    {
        get
        {
            lock (_errors)
                return _errors.ToString();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill();
        await _process.WaitForExitAsync();
        ChildProcesses.Forget(_process);
        _process.Dispose();
    }
}

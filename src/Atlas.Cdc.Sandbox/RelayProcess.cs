using System.Diagnostics;
using System.Net;
using System.Text;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// The relay as a real OS process (<c>dotnet Atlas.Cdc.dll</c>), configured by environment variables exactly as
/// in production, so tests and benchmarks can SIGKILL or SIGTERM it for real.
/// </summary>
public sealed class RelayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly HttpClient _http;
    private readonly IDisposable _exitCleanup;

    private RelayProcess(Process process, string httpUrl)
    {
        _process = process;
        HttpUrl = httpUrl;
        _http = new HttpClient { BaseAddress = new Uri(httpUrl), Timeout = TimeSpan.FromSeconds(5) };
        _exitCleanup = ExitCleanup.Register(() => ProcessRunner.Kill(_process));
    }

    /// <summary>Base URL of /healthz, /readyz and /metrics.</summary>
    public string HttpUrl { get; }

    /// <summary>The relay's OS process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>True once the process has ended (killed, crashed or exited).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Everything the relay printed so far (stdout and stderr, interleaved by line).</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>The relay's published entry assembly: <c>src/Atlas.Cdc/bin/CONFIG/net10.0/Atlas.Cdc.dll</c>, built with the caller.</summary>
    public static string DefaultAssemblyPath
    {
        get
        {
            // Callers reference the Atlas.Cdc project, so its build output sits next to theirs.
            var besideCaller = Path.Combine(AppContext.BaseDirectory, "Atlas.Cdc.dll");
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            var projectOutput = Path.Combine(RepositoryPaths.Root, "src", "Atlas.Cdc", "bin", configuration, "net10.0", "Atlas.Cdc.dll");
            return File.Exists(projectOutput) ? projectOutput : besideCaller;
        }
    }

    /// <summary>Starts the relay with <c>Cdc__...</c> settings; a free loopback port is chosen for HTTP unless given.</summary>
    /// <param name="settings">Environment variables such as <c>Cdc__Slot</c>.</param>
    /// <param name="assemblyPath">The relay's Atlas.Cdc.dll; <see cref="DefaultAssemblyPath"/> when null.</param>
    /// <param name="workingDirectory">The process's current directory; this process's when null.</param>
    public static RelayProcess Start(IReadOnlyDictionary<string, string> settings, string? assemblyPath = null, string? workingDirectory = null)
    {
        var environment = new Dictionary<string, string>(settings);
        if (!environment.ContainsKey("Cdc__Http__Url"))
            environment["Cdc__Http__Url"] = $"http://127.0.0.1:{FreePort.Find()}";
        var httpUrl = environment["Cdc__Http__Url"];

        var startInfo = ProcessRunner.CreateStartInfo("dotnet", [assemblyPath ?? DefaultAssemblyPath], workingDirectory);
        startInfo.RedirectStandardInput = false;
        startInfo.StandardInputEncoding = null;
        foreach (var (name, value) in environment)
            startInfo.Environment[name] = value;
        startInfo.Environment["DOTNET_gcServer"] = "0";

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var relay = new RelayProcess(process, httpUrl);
        process.OutputDataReceived += (_, e) => relay.Append(e.Data);
        process.ErrorDataReceived += (_, e) => relay.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return relay;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    /// <summary>Waits until /readyz answers 200; throws with the relay's output if it exits or the time runs out.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        while (deadline.Elapsed < limit)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The relay exited with code {_process.ExitCode} before it was ready:\n{Output}");
            if (await GetStatusAsync("/readyz", cancellationToken) == HttpStatusCode.OK)
                return;
            await Task.Delay(100, cancellationToken);
        }
        throw new TimeoutException($"The relay was not ready within {Durations.Format(limit)}:\n{Output}");
    }

    /// <summary>The status code of an endpoint, or null when nothing answers.</summary>
    public async Task<HttpStatusCode?> GetStatusAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.GetAsync(path, cancellationToken);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The body of an endpoint, e.g. <c>/metrics</c>; throws unless it answers 200.</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken cancellationToken = default) =>
        await _http.GetStringAsync(path, cancellationToken);

    /// <summary>SIGKILL: no chance to drain or confirm.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the exit code (throws if it does not exit in time).</summary>
    public async Task<int> TerminateAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
            ProcessSignals.Send(_process.Id, ProcessSignals.Terminate);
        return await WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Sends a signal to the relay, e.g. <see cref="ProcessSignals.Stop"/> to freeze it.</summary>
    /// <param name="signal">Signal number (<see cref="ProcessSignals"/>).</param>
    public void Signal(int signal) => ProcessSignals.Send(_process.Id, signal);

    /// <summary>Waits for the process to end and returns its exit code; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The relay did not exit within {Durations.Format(timeout)}:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>Kills the relay if it still runs.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        _exitCleanup.Dispose();
        _http.Dispose();
        _process.Dispose();
    }
}

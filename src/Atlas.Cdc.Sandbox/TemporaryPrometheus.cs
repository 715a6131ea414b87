using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package) with its data in a temporary directory,
/// listening on 127.0.0.1, scraping the given targets as one job and evaluating the given rule files. Tests use
/// it to run a dashboard's queries against what Prometheus really stored. Disposing it kills it and deletes
/// its directory; one left running when the test process exits is killed by an exit hook.
/// </summary>
public sealed class TemporaryPrometheus : IAsyncDisposable
{
    private const string DirectoryPrefix = "atlas-cdc-prometheus-";

    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;
    private readonly StringBuilder _output = new();
    private readonly IDisposable _exitCleanup;

    private TemporaryPrometheus(Process process, string directory, string url)
    {
        _process = process;
        _directory = directory;
        Url = url;
        _http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        _exitCleanup = ExitCleanup.Register(() => ProcessRunner.Kill(_process));
    }

    /// <summary>Base URL of the server, e.g. <c>http://127.0.0.1:PORT</c>.</summary>
    public string Url { get; }

    /// <summary>Everything Prometheus logged so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Starts Prometheus and waits until it is ready.</summary>
    /// <param name="jobName">The scrape job's name: the <c>job</c> label of every series it scrapes.</param>
    /// <param name="targets"><c>host:port</c> of each endpoint scraped at <c>/metrics</c>.</param>
    /// <param name="scrapeInterval">Scrape and rule-evaluation interval (whole seconds).</param>
    /// <param name="ruleFiles">Rule files to evaluate, by path.</param>
    /// <param name="cancellationToken">Cancels the wait for readiness (the server is then killed).</param>
    /// <exception cref="InvalidOperationException">Prometheus is not installed, or exited before it was ready.</exception>
    public static async Task<TemporaryPrometheus> StartAsync(string jobName, IEnumerable<string> targets, TimeSpan scrapeInterval,
        IEnumerable<string>? ruleFiles = null, CancellationToken cancellationToken = default)
    {
        var directory = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        var interval = $"{Math.Max(1, (int)scrapeInterval.TotalSeconds)}s";
        var config = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n")
            .Append("rule_files:\n");
        foreach (var file in ruleFiles ?? [])
            config.Append(CultureInfo.InvariantCulture, $"  - {Quoted(Path.GetFullPath(file))}\n");
        config.Append(CultureInfo.InvariantCulture, $"scrape_configs:\n  - job_name: {Quoted(jobName)}\n    static_configs:\n      - targets: [");
        config.AppendJoin(", ", targets.Select(Quoted)).Append("]\n");
        var configFile = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, config.ToString(), cancellationToken);

        var url = $"http://127.0.0.1:{FreePort.Find()}";
        var startInfo = ProcessRunner.CreateStartInfo("prometheus",
            [
                $"--config.file={configFile}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address={url["http://".Length..]}",
                "--log.level=warn",
            ],
            workingDirectory: directory);
        startInfo.RedirectStandardInput = false;
        startInfo.StandardInputEncoding = null;
        Process process;
        try
        {
            process = ProcessRunner.Start(startInfo, ProcessRunner.Describe(startInfo));
        }
        catch (InvalidOperationException e)
        {
            Directory.Delete(directory, recursive: true);
            throw new InvalidOperationException($"{e.Message} Install it with: apt-get install -y prometheus", e);
        }

        var prometheus = new TemporaryPrometheus(process, directory, url);
        process.OutputDataReceived += (_, e) => prometheus.Append(e.Data);
        process.ErrorDataReceived += (_, e) => prometheus.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await prometheus.WaitUntilReadyAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch
        {
            await prometheus.DisposeAsync();
            throw;
        }
        return prometheus;
    }

    /// <summary>Runs an instant query (<c>/api/v1/query</c>) and returns <c>data.result</c>.</summary>
    /// <param name="expression">PromQL.</param>
    /// <param name="time">Evaluation time; now when null.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="InvalidOperationException">Prometheus rejected the query; the message has its error.</exception>
    public async Task<JsonElement> QueryAsync(string expression, DateTimeOffset? time = null, CancellationToken cancellationToken = default)
    {
        var parameters = new Dictionary<string, string> { ["query"] = expression };
        if (time is { } at)
            parameters["time"] = (at.ToUnixTimeMilliseconds() / 1000.0).ToString("F3", CultureInfo.InvariantCulture);
        return await PostAsync("/api/v1/query", parameters, cancellationToken);
    }

    /// <summary>The label sets of every series matching a selector (<c>/api/v1/series</c>).</summary>
    /// <param name="selector">A series selector, e.g. <c>up{job="atlas-cdc"}</c>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<JsonElement> SeriesAsync(string selector, CancellationToken cancellationToken = default) =>
        await PostAsync("/api/v1/series", new Dictionary<string, string> { ["match[]"] = selector }, cancellationToken);

    /// <summary>The rule groups with each rule's health and last error (<c>/api/v1/rules</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<JsonElement> RulesAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync("/api/v1/rules", cancellationToken);
        return Data(await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken), "/api/v1/rules");
    }

    private async Task<JsonElement> PostAsync(string path, Dictionary<string, string> parameters, CancellationToken cancellationToken)
    {
        using var content = new FormUrlEncodedContent(parameters);
        using var response = await _http.PostAsync(path, content, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return Data(body, $"{path} {string.Join(' ', parameters.Values)}");
    }

    private static JsonElement Data(JsonElement body, string request)
    {
        if (body.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException(
                $"Prometheus refused {request}: {body.GetProperty("errorType").GetString()}: {body.GetProperty("error").GetString()}");
        var data = body.GetProperty("data");
        return data.ValueKind == JsonValueKind.Object && data.TryGetProperty("result", out var result) ? result.Clone() : data.Clone();
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"Prometheus exited with code {_process.ExitCode} before it was ready:\n{Output}");
            try
            {
                using var response = await _http.GetAsync("/-/ready", cancellationToken);
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new TimeoutException($"Prometheus was not ready within {Durations.Format(timeout)}:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private static string Quoted(string value) => JsonSerializer.Serialize(value); // a JSON string is a YAML string

    /// <summary>Kills Prometheus and deletes its directory. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        ProcessRunner.Kill(_process);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or TimeoutException)
        {
            // A leftover temporary directory is harmless; the next run does not depend on it.
        }
        _exitCleanup.Dispose();
        _http.Dispose();
        _process.Dispose();
    }
}

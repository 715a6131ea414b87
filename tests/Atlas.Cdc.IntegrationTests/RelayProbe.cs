using System.Diagnostics;
using System.Net;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Polling helpers over a running relay's endpoints, for tests that time a state change.</summary>
internal static class RelayProbe
{
    /// <summary>Waits until <paramref name="path"/> answers <paramref name="status"/>; returns how long that took.</summary>
    public static async Task<TimeSpan> WaitForStatusAsync(RelayProcess relay, HttpStatusCode status, TimeSpan timeout, string path = "/readyz")
    {
        var stopwatch = Stopwatch.StartNew();
        while (await relay.GetStatusAsync(path) != status)
        {
            if (relay.HasExited)
                throw new InvalidOperationException($"The relay exited while waiting for {path} to answer {(int)status}:\n{relay.Output}");
            if (stopwatch.Elapsed > timeout)
                throw new TimeoutException($"{path} did not answer {(int)status} within {Durations.Format(timeout)}:\n{Tail(relay.Output)}");
            await Task.Delay(50);
        }
        return stopwatch.Elapsed;
    }

    /// <summary>The body of <c>/readyz</c> (it says why the relay is not ready).</summary>
    public static async Task<string> ReadinessAsync(RelayProcess relay)
    {
        using var http = new HttpClient { BaseAddress = new Uri(relay.HttpUrl), Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync("/readyz");
        return $"{(int)response.StatusCode} {(await response.Content.ReadAsStringAsync()).Trim()}";
    }

    /// <summary>
    /// One sample of <paramref name="series"/> from the relay's /metrics: the metric name with its labels exactly as
    /// exposed (<c>atlas_cdc_lag_seconds</c>, <c>atlas_cdc_events_published_total{outbox="default",topic="t"}</c>); null when absent.
    /// </summary>
    public static async Task<double?> MetricAsync(RelayProcess relay, string series) =>
        Metric(await relay.GetTextAsync("/metrics"), series);

    /// <summary>The value of <paramref name="series"/> in a Prometheus text exposition; null when absent.</summary>
    public static double? Metric(string metrics, string series)
    {
        var prefix = series + " ";
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
                return double.Parse(line[prefix.Length..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>The last lines of a relay's output, for failure messages.</summary>
    public static string Tail(string output, int lines = 40) =>
        string.Join('\n', output.Split('\n').TakeLast(lines));
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Atlas.Cdc.Sandbox;
using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// No Grafana server can run here, so the dashboard is checked where its data lives: a real Prometheus scrapes a
/// relay under load, the relay is SIGKILLed and started again on the same port, and every query of every panel
/// must return numbers, before the restart and after it. The alert rules are loaded too and must evaluate cleanly.
/// </summary>
[Collection(CdcCollection.Name)]
public class DashboardQueryTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private const string Job = "atlas-cdc";
    private const string RateInterval = "10s"; // Grafana's $__rate_interval for a 1 s scrape interval and a short range
    // How long each phase may take for every query to have data: generous, since a loaded machine scrapes late.
    private static readonly TimeSpan s_phaseLimit = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Every_dashboard_query_returns_data_from_prometheus_scraping_a_relay_under_load_and_across_a_restart()
    {
        var dashboard = StackFiles.LoadJson(StackFiles.Dashboard);
        var queries = DashboardQueries.Of(dashboard);
        Assert.True(queries.Count >= 20, $"only {queries.Count} queries found in {StackFiles.Dashboard}");

        await using var scenario = await environment.CreateScenarioAsync("dashboard");
        var port = FreePort.Find();
        var instance = $"127.0.0.1:{port}";
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Http__Url"] = $"http://{instance}",
            ["Cdc__Postgres__SlotStatsInterval"] = "00:00:01",
        };
        var relay = await scenario.StartReadyRelayAsync(settings);
        await using var prometheus = await TemporaryPrometheus.StartAsync(Job, [instance], TimeSpan.FromSeconds(1), [StackFiles.AlertRules]);

        using var stopLoad = new CancellationTokenSource();
        var load = WriteContinuouslyAsync(scenario, stopLoad.Token);
        // Each phase lasts until every query has data (not a fixed time): a loaded machine only takes longer.
        var (_, beforeTook) = await WaitUntilEveryQueryHasDataAsync(prometheus, dashboard, queries, instance, "before the restart",
            restartSeen: false);

        await relay.KillAsync();
        relay = await scenario.StartReadyRelayAsync(settings);
        // After it: the restart is visible to Prometheus (a new process start time), the relay streams again, and
        // every query has data from the new process too.
        var (afterRestart, afterTook) = await WaitUntilEveryQueryHasDataAsync(prometheus, dashboard, queries, instance, "after the restart",
            restartSeen: true);
        await stopLoad.CancelAsync();
        var written = await load;
        output.WriteLine($"{written} events written; every query had data {beforeTook.TotalSeconds:F1} s into the first phase " +
                         $"and {afterTook.TotalSeconds:F1} s after the restart");

        foreach (var (name, expression) in new[]
                 {
                     ("events/s", $"sum(rate(atlas_cdc_events_published_total{{instance=\"{instance}\"}}[10s]))"),
                     ("latency p50 s", $"histogram_quantile(0.5, sum by (le) (rate(atlas_cdc_end_to_end_latency_seconds_bucket{{instance=\"{instance}\"}}[10s])))"),
                     ("latency p99 s", $"histogram_quantile(0.99, sum by (le) (rate(atlas_cdc_end_to_end_latency_seconds_bucket{{instance=\"{instance}\"}}[10s])))"),
                     ("max lag s (30 s)", $"max_over_time(atlas_cdc_lag_seconds{{instance=\"{instance}\"}}[30s])"),
                     ("max replication lag bytes (30 s)", $"max_over_time(atlas_cdc_replication_lag_bytes{{instance=\"{instance}\"}}[30s])"),
                     ("failed scrapes (30 s)", $"count_over_time((up{{instance=\"{instance}\"}} == 0)[30s:1s])"),
                 })
        {
            var result = await prometheus.QueryAsync(expression, afterRestart);
            output.WriteLine($"{name}: {(result.GetArrayLength() > 0 ? result[0].GetProperty("value")[1].GetString() : "none")}");
        }

        // Every alert rule evaluates cleanly (health is "unknown" until Prometheus first evaluates it).
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var rules = (await prometheus.RulesAsync()).GetProperty("groups").EnumerateArray().SelectMany(g => g.GetProperty("rules").EnumerateArray()).ToList();
            var unhealthy = rules.Where(rule => rule.GetProperty("health").GetString() != "ok").Select(rule => rule.GetRawText()).ToList();
            if (rules.Count > 0 && unhealthy.Count == 0)
                break;
            Assert.True(stopwatch.Elapsed < s_phaseLimit,
                $"{rules.Count} alert rules; after {Durations.Format(stopwatch.Elapsed)} these were not healthy:\n{string.Join("\n", unhealthy)}");
            await Task.Delay(500);
        }
    }

    /// <summary>
    /// Polls until every panel query and every variable query has numbers for the instance at the current time
    /// (and, with <paramref name="restartSeen"/>, Prometheus has seen the relay's restart and it streams again);
    /// returns that time and how long it took, or fails with what was still missing at the deadline.
    /// </summary>
    private static async Task<(DateTimeOffset Time, TimeSpan Took)> WaitUntilEveryQueryHasDataAsync(TemporaryPrometheus prometheus,
        JsonElement dashboard, List<DashboardQueries.Query> queries, string instance, string phase, bool restartSeen)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var time = DateTimeOffset.UtcNow;
            var report = new StringBuilder();
            foreach (var query in queries)
            {
                var expression = DashboardQueries.Substitute(query.Expression, instance, RateInterval);
                var result = await prometheus.QueryAsync(expression, time);
                if (!HasNumbers(result))
                    report.AppendLine(CultureInfo.InvariantCulture, $"panel '{query.Panel}' query {query.RefId} returned {result.GetRawText()}: {expression}");
            }
            foreach (var (variable, metric, labelName) in DashboardQueries.VariableQueries(dashboard))
            {
                // A variable offers the label's values of this instance's series: at least one must be there.
                var series = await prometheus.SeriesAsync(metric);
                if (!series.EnumerateArray().Any(s => s.TryGetProperty("instance", out var at) && at.GetString() == instance
                                                      && s.TryGetProperty(labelName, out var value) && value.GetString() is { Length: > 0 }))
                    report.AppendLine(CultureInfo.InvariantCulture, $"variable ${variable}: no {metric} series of instance {instance} with a {labelName} label");
            }
            if (restartSeen)
            {
                // The window reaches back past the first phase, so exactly one restart is in it however long that took.
                var restarts = await ValueAsync(prometheus, $"changes(process_start_time_seconds{{instance=\"{instance}\"}}[10m])", time);
                if (restarts != "1")
                    report.AppendLine(CultureInfo.InvariantCulture, $"process start time changed {restarts ?? "no"} times, not once");
                var streaming = await ValueAsync(prometheus, $"atlas_cdc_stream_state{{instance=\"{instance}\", state=\"streaming\"}}", time);
                if (streaming != "1")
                    report.AppendLine(CultureInfo.InvariantCulture, $"stream state streaming is {streaming ?? "absent"}, not 1");
            }
            if (report.Length == 0)
                return (time, stopwatch.Elapsed);
            if (stopwatch.Elapsed > s_phaseLimit)
                Assert.Fail($"{phase}: after {Durations.Format(stopwatch.Elapsed)}, still without data:\n{report}\nPrometheus log:\n{prometheus.Output}");
            await Task.Delay(1000);
        }
    }

    private static async Task<string?> ValueAsync(TemporaryPrometheus prometheus, string expression, DateTimeOffset time)
    {
        var result = await prometheus.QueryAsync(expression, time);
        return result.GetArrayLength() > 0 ? result[0].GetProperty("value")[1].GetString() : null;
    }

    /// <summary>True when the instant vector has at least one sample that is a number (not NaN).</summary>
    private static bool HasNumbers(JsonElement result) =>
        result.ValueKind == JsonValueKind.Array && result.EnumerateArray().Any(sample =>
            double.TryParse(sample.GetProperty("value")[1].GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            && !double.IsNaN(value));

    /// <summary>Small transactions all the time (about 400 events/s), plus one event Kafka refuses, so the dead-letter path runs too.</summary>
    private static async Task<int> WriteContinuouslyAsync(RelayScenario scenario, CancellationToken cancellationToken)
    {
        var written = 0;
        await using var connection = await scenario.OpenAsync();
        await using (var poison = new NpgsqlCommand(
            "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('No Such Topic', 'p-1', 'Broken', '{}')", connection))
            written += await poison.ExecuteNonQueryAsync(CancellationToken.None);
        await using var batch = new NpgsqlCommand(
            """
            INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
            SELECT (ARRAY['Order', 'Invoice'])[1 + n % 2], 'agg-' || (n % 7), 'Changed', jsonb_build_object('n', n)
            FROM generate_series(1, 8) AS n
            """, connection);
        while (!cancellationToken.IsCancellationRequested)
        {
            written += await batch.ExecuteNonQueryAsync(CancellationToken.None);
            await Task.Delay(20, CancellationToken.None);
        }
        return written;
    }
}

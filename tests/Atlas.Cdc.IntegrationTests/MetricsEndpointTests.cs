using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>The relay's /metrics as Prometheus' own linter sees it, the gauges of unacknowledged work, and JSON logs.</summary>
[Collection(CdcCollection.Name)]
public class MetricsEndpointTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Metrics_of_a_relay_that_published_and_dead_lettered_pass_promtool_check_metrics()
    {
        await using var scenario = await environment.CreateScenarioAsync("lint");
        await using var relay = await scenario.StartReadyRelayAsync();
        var ids = await scenario.InsertAsync(RelayCoreTests.Rows("Invoice", 20));
        await scenario.InsertAsync(new OutboxRow("Not A Topic", "x-1", "Broken", "{}"));
        await scenario.WaitForEventsAsync([scenario.Topic("Invoice")], ids);
        await WaitForMetricAsync(relay, "atlas_cdc_events_dead_lettered_total{outbox=\"default\"}", v => v == 1);
        // Read from pg_replication_slots every Cdc:Postgres:SlotStatsInterval (5 s); the slot is younger than the relay.
        await WaitForMetricAsync(relay, "atlas_cdc_slot_retained_wal_bytes", v => v > 0);

        var metrics = await relay.GetTextAsync("/metrics");
        var lint = await Promtool.CheckMetricsAsync(metrics);

        Assert.True(lint.Succeeded, $"{lint}\n{metrics}");
        Assert.Equal("", lint.Output);
        foreach (var name in new[]
                 {
                     "atlas_cdc_events_published_total", "atlas_cdc_end_to_end_latency_seconds_bucket", "atlas_cdc_replication_lag_bytes",
                     "atlas_cdc_slot_retained_wal_bytes", "atlas_cdc_producer_queue_messages", "atlas_cdc_build_info", "process_cpu_seconds_total",
                     "process_resident_memory_bytes", "process_start_time_seconds", "process_open_fds", "process_max_fds", "process_num_threads",
                     "atlas_cdc_outbox_rows_deleted_total", "dotnet_gc_collections_total", "dotnet_gc_pause_time_seconds_total",
                     "dotnet_gc_last_collection_heap_size_bytes", "dotnet_thread_pool_threads",
                 })
            Assert.True(Regex.IsMatch(metrics, $"^{name}(\\{{[^}}]*\\}})? ", RegexOptions.Multiline), $"no {name} sample in:\n{metrics}");

        // Prometheus asks for OpenMetrics first; the relay answers with the text format that was just linted.
        using var http = new HttpClient { BaseAddress = new Uri(relay.HttpUrl) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.TryAddWithoutValidation("Accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        using var response = await http.SendAsync(request);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
    }

    [Fact]
    public async Task Producer_queue_in_flight_and_lag_count_what_kafka_has_not_acknowledged_and_drop_to_zero_once_it_has()
    {
        await using var scenario = await environment.CreateScenarioAsync("queue");
        await using var relay = await scenario.StartReadyRelayAsync();
        List<Guid> ids;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            ids = await scenario.InsertAsync(RelayCoreTests.Rows("Parcel", 25));
            await WaitForMetricAsync(relay, "atlas_cdc_producer_queue_messages", v => v == 25);
            await WaitForMetricAsync(relay, "atlas_cdc_events_in_flight", v => v == 25);
            await WaitForMetricAsync(relay, "atlas_cdc_lag_seconds", v => v > 0.5);
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        await scenario.WaitForEventsAsync([scenario.Topic("Parcel")], ids);
        await WaitForMetricAsync(relay, "atlas_cdc_producer_queue_messages", v => v == 0);
        await WaitForMetricAsync(relay, "atlas_cdc_events_in_flight", v => v == 0);
        await WaitForMetricAsync(relay, "atlas_cdc_lag_seconds", v => v == 0);
        await WaitForMetricAsync(relay, $"atlas_cdc_events_published_total{{outbox=\"default\",topic=\"{scenario.Topic("Parcel")}\"}}", v => v == 25);
    }

    [Fact]
    public async Task Json_console_logs_are_one_object_per_line_with_event_id_and_commit_lsn_as_properties()
    {
        await using var scenario = await environment.CreateScenarioAsync("jsonlogs");
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json" });
        var poison = (await scenario.InsertAsync(new OutboxRow("Bad Topic", "b-1", "Broken", "{}")))[0];
        var deadLetter = Assert.Single(await WaitForRecordsAsync(scenario, TopicOfDeadLetters(scenario)));

        var lines = relay.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var entries = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.All(entries, e => Assert.True(e.TryGetProperty("LogLevel", out _) && e.TryGetProperty("Category", out _)));
        var error = Assert.Single(entries, e => e.GetProperty("LogLevel").GetString() == "Error");
        var state = error.GetProperty("State");
        Assert.Equal(poison.ToString(), state.GetProperty("OutboxEventId").GetString());
        Assert.Equal(deadLetter.Header("atlas.commit_lsn"), state.GetProperty("CommitLsn").GetString());
        Assert.Equal(TopicOfDeadLetters(scenario), state.GetProperty("DeadLetterTopic").GetString());
        Assert.Contains(entries, e => e.GetProperty("State").TryGetProperty("Lsn", out _)); // "Streaming from slot ... confirmed LSN"
    }

    private static string TopicOfDeadLetters(RelayScenario scenario) => scenario.TopicPrefix + ".dlq";

    private static async Task<List<KafkaRecord>> WaitForRecordsAsync(RelayScenario scenario, string topic)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var records = await scenario.ReadTopicAsync(topic);
            if (records.Count > 0 || DateTime.UtcNow > deadline)
                return records;
            await Task.Delay(200);
        }
    }

    /// <summary>Polls /metrics until the sample (name with its labels, as exported) satisfies the condition.</summary>
    internal static async Task<double> WaitForMetricAsync(RelayProcess relay, string sample, Func<double, bool> condition)
    {
        var pattern = new Regex($"^{Regex.Escape(sample)} (\\S+)$", RegexOptions.Multiline);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        double? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var match = pattern.Match(await relay.GetTextAsync("/metrics"));
            if (match.Success)
            {
                last = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                if (condition(last.Value))
                    return last.Value;
            }
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"{sample} never reached the expected value within 30 s (last: {last?.ToString(CultureInfo.InvariantCulture) ?? "absent"})");
    }
}

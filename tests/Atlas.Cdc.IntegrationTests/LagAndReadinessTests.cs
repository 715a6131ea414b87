using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// atlas_cdc_lag_seconds is the age since COMMIT of the oldest transaction Kafka has not fully acknowledged, and
/// /readyz follows Kafka's progress (an acknowledgement within Cdc:Kafka:UnhealthyAfter while events wait), not
/// the age of what is pending.
/// </summary>
[Collection(CdcCollection.Name)]
public class LagAndReadinessTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Lag_of_a_relay_started_on_a_backlog_is_the_age_of_its_oldest_commit_not_the_time_since_it_was_read()
    {
        await using var scenario = await environment.CreateScenarioAsync("lagbacklog");
        var topic = scenario.Topic("Backlog");
        await scenario.ScalarAsync<string>($"SELECT slot_name::text FROM pg_create_logical_replication_slot('{scenario.Slot}', 'pgoutput')");
        var committedAfter = DateTimeOffset.UtcNow;
        var backlog = await scenario.InsertAsync(RelayCoreTests.Rows("Backlog", 20));
        var committedBefore = DateTimeOffset.UtcNow;
        // The backlog ages before any relay runs; then Kafka keeps it unacknowledged while the relay reads it.
        await Task.Delay(TimeSpan.FromSeconds(8));
        environment.Kafka.SetAllBrokersDown();
        await using var relay = scenario.StartRelay();
        try
        {
            var stopwatch = Stopwatch.StartNew();
            while ((await ScrapeAsync(relay, "atlas_cdc_events_in_flight") ?? 0) < backlog.Count)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"the relay did not read the backlog within 30 s:\n{RelayProbe.Tail(relay.Output)}");
                await Task.Delay(100);
            }
            var scrapedAfter = DateTimeOffset.UtcNow;
            var lag = (await ScrapeAsync(relay, "atlas_cdc_lag_seconds"))!.Value;
            var scrapedBefore = DateTimeOffset.UtcNow;

            var least = (scrapedAfter - committedBefore).TotalSeconds - 0.5;
            var most = (scrapedBefore - committedAfter).TotalSeconds + 0.5;
            output.WriteLine($"backlog read {stopwatch.Elapsed.TotalSeconds:F1} s after the relay started; atlas_cdc_lag_seconds {lag:F2}, commit age {least + 0.5:F2}-{most - 0.5:F2} s");
            Assert.InRange(lag, least, most);
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        await scenario.WaitForEventsAsync([topic], backlog);
        await WaitForLagAsync(relay, 0);
    }

    [Fact]
    public async Task Readiness_stays_200_through_a_transaction_longer_than_unhealthy_after_while_acknowledgements_flow()
    {
        const int events = 20_000;
        await using var scenario = await environment.CreateScenarioAsync("readylarge");
        var topic = scenario.Topic("Bulk");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Kafka__UnhealthyAfter"] = "00:00:02",
            ["Cdc__MaxInFlightEvents"] = "200",
        });
        var published = $"atlas_cdc_events_published_total{{outbox=\"default\",topic=\"{topic}\"}}";
        var notReady = new List<string>();
        double maxLag = 0;
        var samples = 0;
        var stopwatch = Stopwatch.StartNew();
        // Slow acknowledgements and a small in-flight limit stretch delivery of one transaction over several seconds.
        using (RecoveryProbe.SlowKafka(environment.Kafka, TimeSpan.FromMilliseconds(50)))
        {
            await scenario.ScalarAsync<int>(
                "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) " +
                $"SELECT 'Bulk', 'bulk-' || (i % 10), 'Loaded', jsonb_build_object('i', i) FROM generate_series(1, {events}) AS i; SELECT 1");
            while (true)
            {
                var metrics = await relay.GetTextAsync("/metrics");
                maxLag = Math.Max(maxLag, RelayProbe.Metric(metrics, "atlas_cdc_lag_seconds") ?? 0);
                if (RelayProbe.Metric(metrics, published) >= events)
                    break;
                var readiness = await RelayProbe.ReadinessAsync(relay);
                samples++;
                if (!readiness.StartsWith("200", StringComparison.Ordinal))
                    notReady.Add($"{stopwatch.Elapsed.TotalSeconds:F1} s: {readiness}");
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(120), $"{RelayProbe.Metric(metrics, published)} of {events} events published after 120 s");
                await Task.Delay(100);
            }
        }

        output.WriteLine($"{events} events in one transaction delivered in {stopwatch.Elapsed.TotalSeconds:F1} s; highest lag {maxLag:F1} s; " +
                         $"/readyz sampled {samples} times, not ready {notReady.Count} times");
        // The transaction took longer than Cdc:Kafka:UnhealthyAfter to deliver, or this test would prove nothing.
        Assert.True(maxLag > 3, $"the highest lag seen was {maxLag:F1} s: delivery was too quick to test readiness against 2 s");
        Assert.True(notReady.Count == 0, $"/readyz failed while acknowledgements flowed:\n{string.Join('\n', notReady.Take(10))}");
    }

    [Fact]
    public async Task Readiness_fails_when_kafka_acknowledges_nothing_for_unhealthy_after_while_events_wait_and_recovers()
    {
        await using var scenario = await environment.CreateScenarioAsync("readystall");
        var topic = scenario.Topic("Stalled");
        environment.Kafka.CreateTopic(topic, partitions: 1);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__Kafka__UnhealthyAfter"] = "00:00:02" });
        List<Guid> ids;
        TimeSpan notReadyAfter;
        // Brokers that answer, but only after 8 s: reachable, and yet no progress.
        using (RecoveryProbe.SlowKafka(environment.Kafka, TimeSpan.FromSeconds(8)))
        {
            ids = await scenario.InsertAsync(RelayCoreTests.Rows("Stalled", 5));
            notReadyAfter = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(7));
            var readiness = await RelayProbe.ReadinessAsync(relay);
            output.WriteLine($"/readyz 503 {notReadyAfter.TotalSeconds:F1} s after the insert: {readiness}");
            Assert.Contains("Kafka has acknowledged nothing for", readiness, StringComparison.Ordinal);
        }
        Assert.True(notReadyAfter >= TimeSpan.FromSeconds(1.5), $"/readyz failed {notReadyAfter.TotalSeconds:F1} s after the insert, before Cdc:Kafka:UnhealthyAfter (2 s)");
        await scenario.WaitForEventsAsync([topic], ids);
        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(20));
    }

    private static async Task<double?> ScrapeAsync(Sandbox.RelayProcess relay, string series) =>
        await relay.GetStatusAsync("/metrics") == HttpStatusCode.OK ? await RelayProbe.MetricAsync(relay, series) : null;

    private static async Task WaitForLagAsync(Sandbox.RelayProcess relay, double expected)
    {
        var stopwatch = Stopwatch.StartNew();
        double? lag;
        while ((lag = await RelayProbe.MetricAsync(relay, "atlas_cdc_lag_seconds")) != expected)
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"atlas_cdc_lag_seconds is {lag}, not {expected}, 20 s after delivery");
            await Task.Delay(100);
        }
    }
}

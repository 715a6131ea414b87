using System.Diagnostics;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Cdc:MaxInFlightBytes pauses reading on its own, long before Cdc:MaxInFlightEvents would.</summary>
[Collection(CdcCollection.Name)]
public class BackpressureTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Reading_pauses_once_max_in_flight_bytes_are_unacknowledged_and_resumes_without_loss()
    {
        const int limit = 100_000;
        const int events = 200;
        await using var scenario = await environment.CreateScenarioAsync("maxbytes");
        var topic = scenario.Topic("Heavy");
        environment.Kafka.CreateTopic(topic, partitions: 4);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__MaxInFlightBytes"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        // About 2 kB per event, in single-row transactions: 50 of them fill the byte limit, 200 are four times it.
        var payload = $$"""{"blob": "{{new string('b', 2000)}}"}""";
        var rows = Enumerable.Range(0, events).Select(i => new OutboxRow("Heavy", $"heavy-{i % 4}", "Stored", payload)).ToArray();

        double inFlight, inFlightBytes, decodedWhilePaused;
        var ids = new List<Guid>();
        environment.Kafka.SetAllBrokersDown();
        try
        {
            foreach (var row in rows)
                ids.AddRange(await scenario.InsertAsync(row));
            var stopwatch = Stopwatch.StartNew();
            while ((await RelayProbe.MetricAsync(relay, "atlas_cdc_in_flight_bytes") ?? 0) < limit)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), "the byte limit did not fill within 20 s");
                await Task.Delay(50);
            }
            var decoded = (await RelayProbe.MetricAsync(relay, "atlas_cdc_transactions_total"))!.Value;
            await Task.Delay(TimeSpan.FromSeconds(3));
            var metrics = await relay.GetTextAsync("/metrics");
            inFlight = RelayProbe.Metric(metrics, "atlas_cdc_events_in_flight")!.Value;
            inFlightBytes = RelayProbe.Metric(metrics, "atlas_cdc_in_flight_bytes")!.Value;
            decodedWhilePaused = RelayProbe.Metric(metrics, "atlas_cdc_transactions_total")!.Value - decoded;
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        output.WriteLine($"paused at {inFlight} events, {inFlightBytes} bytes in flight (limit {limit} bytes, {events} events waiting); " +
                         $"{decodedWhilePaused} transactions decoded in 3 s of pause");
        // Reading stops at the first event that reaches the limit: at most one event (about 2 kB) over it.
        Assert.InRange(inFlightBytes, limit, limit + 2100);
        Assert.InRange(inFlight, 40, 60);
        Assert.Equal(0, decodedWhilePaused);
        await scenario.WaitForEventsAsync([topic], ids, TimeSpan.FromSeconds(60));
    }
}

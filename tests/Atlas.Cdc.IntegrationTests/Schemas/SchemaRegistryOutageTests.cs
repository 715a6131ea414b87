using System.Diagnostics;
using System.Net;
using Atlas.Cdc.Sandbox.SchemaRegistry;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// A registry that answers 503, then drops connections, for 20 s under load: the relay waits at the first event
/// whose schema it must look up, in commit order; /readyz answers 503 with the reason; reading pauses by
/// backpressure; when the registry returns, everything arrives in order and nothing is dead-lettered.
/// </summary>
[Collection(CdcCollection.Name)]
public class SchemaRegistryOutageTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private const string Tick = """{"type": "record", "name": "Tick", "fields": [{"name": "w", "type": "int"}, {"name": "seq", "type": "long"}]}""";
    private static readonly TimeSpan s_halfOutage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Registry_down_for_20_seconds_under_load_loses_nothing_dead_letters_nothing_and_keeps_commit_order()
    {
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("registrydown");
        var topic = scenario.Topic("Tick");
        var lateTopic = scenario.Topic("Late");
        registry.Register(topic + "-value", Tick);
        registry.Register(lateTopic + "-value", Tick);
        await using var relay = await scenario.StartReadyRelayAsync(SchemaSettings.For(registry, extra: new Dictionary<string, string>
        {
            ["Cdc__MaxInFlightEvents"] = "2000", // backpressure well before the test's backlog
        }));
        await using var load = WriterLoad.Start(scenario, "Tick", writers: 4, ratePerWriter: 100);
        await load.WaitForMoreAsync(400);

        // Known subjects keep their cached schema through a failed refresh; the first event of a subject the relay
        // has not looked up yet must wait for the registry, and every later event waits behind it.
        registry.Failure = RegistryFailure.ServerError;
        var outage = Stopwatch.StartNew();
        var late = await scenario.InsertAsync(new OutboxRow("Late", "late-1", "Written", """{"w": 0, "seq": 0}"""));
        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15));
        var readiness = await RelayProbe.ReadinessAsync(relay);
        output.WriteLine($"{outage.Elapsed.TotalSeconds:F1} s into the outage: /readyz {readiness}");
        Assert.Contains("schema registry is unavailable", readiness, StringComparison.Ordinal);

        var published = await PublishedAsync(relay, topic);
        await Task.Delay(s_halfOutage - outage.Elapsed);
        registry.Failure = RegistryFailure.Unreachable;
        await Task.Delay(s_halfOutage);
        var metrics = await relay.GetTextAsync("/metrics");
        var publishedLater = SchemaSettings.Metric(metrics, $"atlas_cdc_events_published_total{{outbox=\"default\",topic=\"{topic}\"}}");
        var inFlight = SchemaSettings.Metric(metrics, "atlas_cdc_events_in_flight");
        output.WriteLine($"during the outage: published {published} -> {publishedLater}, in flight {inFlight}, " +
                         $"{SchemaSettings.Metric(metrics, "atlas_cdc_schema_registry_errors_total")} registry errors; {load.Committed} committed");
        Assert.Equal(published, publishedLater); // nothing overtakes the waiting event
        Assert.True(inFlight >= 2000, $"reading should pause at Cdc:MaxInFlightEvents (2000); {inFlight} in flight");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await relay.GetStatusAsync("/readyz"));

        registry.Failure = RegistryFailure.None;
        output.WriteLine($"registry back after {outage.Elapsed.TotalSeconds:F1} s");
        var recovered = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        output.WriteLine($"/readyz 200 again {recovered.TotalSeconds:F1} s later");
        await load.WaitForMoreAsync(200);
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));
        await scenario.WaitForEventsAsync([lateTopic], late);
        Assert.Empty(await scenario.ReadTopicAsync(scenario.DeadLetterTopic));
        Assert.False(relay.HasExited, relay.Output);
        output.WriteLine($"{delivery.Committed} events delivered in commit order per key ({delivery.Duplicates} duplicates), none dead-lettered");
    }

    private static async Task<double> PublishedAsync(Sandbox.RelayProcess relay, string topic)
    {
        // Let what was handed to Kafka before the waiting event be acknowledged first.
        double previous = -1, current = 0;
        for (var i = 0; i < 50 && previous != current; i++)
        {
            previous = current;
            await Task.Delay(200);
            current = SchemaSettings.Metric(await relay.GetTextAsync("/metrics"), $"atlas_cdc_events_published_total{{outbox=\"default\",topic=\"{topic}\"}}");
        }
        return current;
    }
}

using System.Diagnostics;
using System.Net;
using Atlas.Cdc.Sandbox;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// High availability with PostgreSQL as the only coordinator: several relays configured for one slot, of which
/// PostgreSQL lets one stream; the others wait, not ready, and take over when it dies.
/// </summary>
[Collection(CdcCollection.Name)]
public class StandbyTests(CdcEnvironment environment, ITestOutputHelper output)
{
    // A takeover is the standby's next retry (Cdc:StandbyRetryInterval, 2 s) plus a session's start-up: a few
    // seconds on a quiet machine. The limit leaves room for a loaded one and still catches a standby that waits
    // for anything longer than its retry interval.
    private static readonly TimeSpan s_takeoverLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Second_relay_for_the_same_slot_waits_as_a_not_ready_standby_without_exiting_or_publishing()
    {
        await using var scenario = await environment.CreateScenarioAsync("standby");
        var active = await scenario.StartReadyRelayAsync();
        var standby = scenario.StartRelay();
        await WaitForStandbyAsync(standby);

        var ids = await scenario.InsertAsync(RelayCoreTests.Rows("Parcel", 20));
        await scenario.WaitForEventsAsync([scenario.Topic("Parcel")], ids);
        // It stays a standby through several retries (Cdc:StandbyRetryInterval is 2 s), checked all along.
        await Poll.ThroughoutAsync(TimeSpan.FromSeconds(5), async () =>
        {
            Assert.False(standby.HasExited, $"the standby exited:\n{standby.Output}");
            Assert.StartsWith("503 not ready: stream state is standby", await RelayProbe.ReadinessAsync(standby), StringComparison.Ordinal);
        }, TimeSpan.FromMilliseconds(500));
        Assert.Equal(HttpStatusCode.OK, await standby.GetStatusAsync("/healthz"));
        var metrics = await standby.GetTextAsync("/metrics");
        Assert.Contains("atlas_cdc_stream_state{state=\"standby\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("atlas_cdc_ready 0", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("atlas_cdc_events_published_total{", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await active.GetStatusAsync("/readyz"));
        Assert.Single(Lines(standby.Output, "standing by"));
    }

    [Fact]
    public async Task Standby_takes_over_within_seconds_of_each_of_four_sigkills_under_load_without_loss()
    {
        await using var scenario = await environment.CreateScenarioAsync("takeover");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        var active = await scenario.StartReadyRelayAsync();
        var standby = scenario.StartRelay();
        await WaitForStandbyAsync(standby);
        await using var load = WriterLoad.Start(scenario, "Load");

        var takeovers = new List<TimeSpan>();
        var previousDuplicates = 0;
        for (var kill = 1; kill <= 4; kill++)
        {
            await load.WaitForMoreAsync(800, TimeSpan.FromSeconds(120));
            var stopwatch = Stopwatch.StartNew();
            await active.KillAsync();
            await RelayProbe.WaitForStatusAsync(standby, HttpStatusCode.OK, TimeSpan.FromSeconds(120));
            var takeover = stopwatch.Elapsed;
            takeovers.Add(takeover);

            var marker = await scenario.InsertAsync(new OutboxRow("Load", "marker", "Marker", $$"""{"kill": {{kill}}}"""));
            var records = await scenario.WaitForEventsAsync([topic], marker, TimeSpan.FromSeconds(120));
            var duplicates = OrderAssertions.Duplicates(records);
            output.WriteLine($"SIGKILL {kill}: standby ready {takeover.TotalSeconds:F2} s after the kill; " +
                             $"{duplicates - previousDuplicates} duplicates re-sent by the new active relay");
            previousDuplicates = duplicates;

            active = standby;
            standby = scenario.StartRelay();
            await WaitForStandbyAsync(standby);
        }

        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(180));
        var measured = string.Join(", ", takeovers.Select(Durations.Format));
        output.WriteLine($"{delivery.Committed} events, {delivery.Duplicates} duplicates in all; takeovers {measured}");
        Assert.True(takeovers.All(takeover => takeover < s_takeoverLimit),
            $"takeovers {measured}: one took {Durations.Format(s_takeoverLimit)} or more; last standby's log:\n{RelayProbe.Tail(active.Output, 15)}");
    }

    [Fact]
    public async Task Frozen_active_relay_loses_the_slot_after_wal_sender_timeout_and_its_late_sends_keep_the_order()
    {
        await using var scenario = await environment.CreateScenarioAsync("frozen");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        // A hung relay (frozen process, network partition) keeps its connection open: PostgreSQL frees the slot
        // after wal_sender_timeout, which a deployment can shorten for the relay's connections.
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = scenario.RelayConnectionString + ";Options=-c wal_sender_timeout=15s",
        };
        var active = await scenario.StartReadyRelayAsync(settings);
        var standby = scenario.StartRelay(settings);
        await WaitForStandbyAsync(standby);
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2);
        await load.WaitForMoreAsync(600);

        var stopwatch = Stopwatch.StartNew();
        active.Signal(ProcessSignals.Stop);
        TimeSpan takeover;
        try
        {
            await RelayProbe.WaitForStatusAsync(standby, HttpStatusCode.OK, TimeSpan.FromSeconds(120));
            takeover = stopwatch.Elapsed;
            await load.WaitForMoreAsync(600, TimeSpan.FromSeconds(120));
        }
        finally
        {
            active.Signal(ProcessSignals.Continue);
        }

        // The old relay wakes up: whatever its producer still held goes out late, then it finds the slot taken.
        await WaitForStandbyAsync(active);
        await load.WaitForMoreAsync(300, TimeSpan.FromSeconds(120));
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(180));
        output.WriteLine($"frozen active relay: standby ready {takeover.TotalSeconds:F1} s after SIGSTOP (wal_sender_timeout 15 s); " +
                         $"{delivery.Committed} events, {delivery.Duplicates} duplicates");
    }

    [Fact]
    public async Task Sigterm_of_the_active_relay_hands_over_to_the_standby_without_duplicates()
    {
        await using var scenario = await environment.CreateScenarioAsync("handover");
        var topic = scenario.Topic("Load");
        var active = await scenario.StartReadyRelayAsync();
        var standby = scenario.StartRelay();
        await WaitForStandbyAsync(standby);
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2);
        await load.WaitForMoreAsync(500);

        var stopwatch = Stopwatch.StartNew();
        Assert.Equal(0, await active.TerminateAsync(TimeSpan.FromSeconds(30)));
        var takeover = await RelayProbe.WaitForStatusAsync(standby, HttpStatusCode.OK, TimeSpan.FromSeconds(120));
        var handover = stopwatch.Elapsed;
        await load.WaitForMoreAsync(500, TimeSpan.FromSeconds(120));

        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(180));
        var duplicated = delivery.Records.GroupBy(r => r.Header("id")).Where(g => g.Count() > 1).Select(g => g.First().Header("atlas.commit_lsn")).ToList();
        Assert.True(duplicated.Count == 0,
            $"{duplicated.Count} duplicates, commit LSNs {duplicated.Min()} .. {duplicated.Max()}\n--- old active:\n{RelayProbe.Tail(active.Output, 15)}\n--- standby:\n{RelayProbe.Tail(standby.Output, 15)}");
        output.WriteLine($"rolling handover: standby ready {handover.TotalSeconds:F2} s after SIGTERM ({takeover.TotalSeconds:F2} s after the old one exited)");
    }

    private static async Task WaitForStandbyAsync(RelayProcess relay)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (relay.HasExited)
                throw new InvalidOperationException($"The standby relay exited:\n{relay.Output}");
            try
            {
                if ((await relay.GetTextAsync("/metrics")).Contains("atlas_cdc_stream_state{state=\"standby\"} 1", StringComparison.Ordinal))
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or slow to answer on a loaded machine.
            }
            if (stopwatch.Elapsed > TimeSpan.FromSeconds(120))
                throw new TimeoutException($"The relay did not become a standby within 120 s; /readyz answers {(await relay.GetStatusAsync("/readyz"))?.ToString() ?? "nothing"}:\n{relay.Output}");
            await Task.Delay(100);
        }
    }

    private static IEnumerable<string> Lines(string text, string containing) =>
        text.Split('\n').Where(line => line.Contains(containing, StringComparison.Ordinal));
}

using System.Diagnostics;
using System.Net;
using Npgsql;
using Xunit.Abstractions;
using static Atlas.Cdc.IntegrationTests.SqlCommands;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// A slot dropped or invalidated while the relay is down: the relay notices, says so in one error line, publishes
/// again every row not proven delivered and streams on, losing nothing. Duplicates are counted and printed.
/// </summary>
[Collection(CdcCollection.Name)]
public class SlotRecoveryTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Slot_dropped_while_the_relay_is_down_under_load_is_recovered_without_losing_a_committed_event()
    {
        await using var scenario = await environment.CreateScenarioAsync("slotdropped");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        var relay = await scenario.StartReadyRelayAsync();
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2, ratePerWriter: 150);
        await load.WaitForMoreAsync(600);
        await RecoveryProbe.WaitForHorizonAsync(scenario);

        await relay.KillAsync();
        await load.WaitForMoreAsync(300);
        await RecoveryProbe.DropSlotAsync(scenario);
        await load.WaitForMoreAsync(300); // committed after the drop: a relay creating a plain new slot skips these

        relay = await scenario.StartReadyRelayAsync();
        await load.WaitForMoreAsync(300);
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));

        var recovered = Assert.Single(RecoveryProbe.Lines(relay, "was missing"));
        Assert.Contains(scenario.Slot, recovered, StringComparison.Ordinal);
        Assert.Contains("horizon is xid", recovered, StringComparison.Ordinal);
        Assert.Equal(1, await RecoveryProbe.MetricAsync(relay, "atlas_cdc_slot_recoveries_total"));
        var republished = await RecoveryProbe.MetricAsync(relay, "atlas_cdc_events_republished_total");
        Assert.True(republished >= 600, $"only {republished} events were published again, but at least the 600 written while the relay was down had to be");
        var fromTable = delivery.Records.Count(r => r.Header("atlas.snapshot") == "true");
        // The 600 rows written while the relay was away can only have come from the table.
        Assert.True(fromTable >= 600, $"only {fromTable} records carry atlas.snapshot");
        output.WriteLine($"slot dropped: {delivery.Committed} events committed, {republished} published again by the recovery ({fromTable} in Kafka), " +
                         $"{delivery.Records.Count} records, {delivery.Duplicates} duplicates in Kafka; {recovered}");
    }

    [Fact]
    public async Task Slot_invalidated_by_max_slot_wal_keep_size_while_the_relay_is_down_is_dropped_and_recovered()
    {
        await using var scenario = await environment.CreateScenarioAsync("slotlost");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        var relay = await scenario.StartReadyRelayAsync();
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2, ratePerWriter: 100);
        await load.WaitForMoreAsync(400);
        await RecoveryProbe.WaitForHorizonAsync(scenario);
        await relay.KillAsync();
        await load.WaitForMoreAsync(300);

        // PostgreSQL 15 invalidates a slot at a checkpoint once it would retain more WAL than the cap.
        await environment.Postgres.ExecuteAsync("ALTER SYSTEM SET max_slot_wal_keep_size = '32MB'; SELECT pg_reload_conf()");
        try
        {
            await using var connection = await scenario.OpenAsync();
            await ExecuteAsync(connection, "CREATE TABLE filler (x int)", LongStatementSeconds);
            var stopwatch = Stopwatch.StartNew();
            while (await WalStatusAsync(connection, scenario.Slot) != "lost")
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"slot {scenario.Slot} was not invalidated: wal_status {await WalStatusAsync(connection, scenario.Slot)}");
                for (var segment = 0; segment < 4; segment++)
                    await ExecuteAsync(connection, "INSERT INTO filler VALUES (1); SELECT pg_switch_wal()", LongStatementSeconds);
                await ExecuteAsync(connection, "CHECKPOINT", LongStatementSeconds);
            }
        }
        finally
        {
            await environment.Postgres.ExecuteAsync("ALTER SYSTEM RESET max_slot_wal_keep_size; SELECT pg_reload_conf()");
        }
        await load.WaitForMoreAsync(200);

        relay = await scenario.StartReadyRelayAsync();
        await load.WaitForMoreAsync(300);
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));

        var recovered = Assert.Single(RecoveryProbe.Lines(relay, "was invalidated"));
        Assert.Contains(scenario.Slot, recovered, StringComparison.Ordinal);
        Assert.Contains("Dropping replication slot", relay.Output, StringComparison.Ordinal);
        var walStatus = await scenario.ScalarAsync<string>($"SELECT wal_status FROM pg_replication_slots WHERE slot_name = '{scenario.Slot}'");
        Assert.NotEqual("lost", walStatus);
        var republished = await RecoveryProbe.MetricAsync(relay, "atlas_cdc_events_republished_total");
        output.WriteLine($"slot invalidated: {delivery.Committed} events committed, {republished} published again by the recovery, " +
                         $"{delivery.Duplicates} duplicates in Kafka; {recovered}");
    }

    [Fact]
    public async Task Sigkill_in_the_middle_of_a_recovery_the_next_start_finishes_it_and_nothing_is_lost()
    {
        const int rows = 6000;
        await using var scenario = await environment.CreateScenarioAsync("recoverykill");
        var topic = scenario.Topic("Bulk");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        var relay = await scenario.StartReadyRelayAsync();
        var first = await scenario.InsertAsync(RelayCoreTests.Rows("Bulk", 20));
        await scenario.WaitForEventsAsync([topic], first);
        await RecoveryProbe.WaitForHorizonAsync(scenario);
        await relay.KillAsync();

        await using (var connection = await scenario.OpenAsync())
            await ExecuteAsync(connection, "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) " +
                                      $"SELECT 'Bulk', 'bulk-' || (g % 50), 'Imported', jsonb_build_object('n', g) FROM generate_series(1, {rows}) g", LongStatementSeconds);
        await RecoveryProbe.DropSlotAsync(scenario);
        var ids = await scenario.ScalarAsync<Guid[]>("SELECT array_agg(id) FROM outbox");

        using (RecoveryProbe.SlowKafka(environment.Kafka, TimeSpan.FromMilliseconds(20)))
        {
            relay = scenario.StartRelay(new Dictionary<string, string> { ["Cdc__MaxInFlightEvents"] = "20" });
            await RecoveryProbe.WaitForPublishedAsync(relay, 500, TimeSpan.FromSeconds(60));
            await relay.KillAsync();
            var pending = await RecoveryProbe.ProgressAsync(scenario);
            Assert.True(pending is { HorizonXid: not null, Pending: "recovery" }, $"progress row after the SIGKILL: {pending}");
        }

        relay = await scenario.StartReadyRelayAsync();
        var records = await scenario.WaitForEventsAsync([topic], ids, TimeSpan.FromSeconds(120));
        Assert.Contains("did not finish", relay.Output, StringComparison.Ordinal);
        var progress = await RecoveryProbe.ProgressAsync(scenario);
        Assert.True(progress is { HorizonXid: not null, Pending: null }, $"progress row after the second start: {progress}");
        Assert.Equal(ids.Length, records.Select(r => r.Header("id")).Distinct().Count());
        output.WriteLine($"{ids.Length} events, {records.Count} records, {OrderAssertions.Duplicates(records)} duplicates after a SIGKILL during the recovery");
    }

    [Fact]
    public async Task Standby_during_a_recovery_waits_and_only_the_slot_holder_recovers()
    {
        await using var scenario = await environment.CreateScenarioAsync("recoverystandby");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        var relay = await scenario.StartReadyRelayAsync();
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2, ratePerWriter: 100);
        await load.WaitForMoreAsync(300);
        await RecoveryProbe.WaitForHorizonAsync(scenario);
        await relay.KillAsync();
        await load.WaitForMoreAsync(300);
        await RecoveryProbe.DropSlotAsync(scenario);

        var relays = new[] { scenario.StartRelay(), scenario.StartRelay() };
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var states = await Task.WhenAll(relays.Select(r => r.GetStatusAsync("/readyz")));
            if (states.Any(s => s == HttpStatusCode.OK))
                break;
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"neither relay became ready:\n{relays[0].Output}\n---\n{relays[1].Output}");
            await Task.Delay(100);
        }
        await load.WaitForMoreAsync(300);
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));

        var recoveries = relays.Select(r => RecoveryProbe.Lines(r, "was missing").Count).ToArray();
        Assert.True(recoveries.Sum() == 1, $"recovery lines per relay: {string.Join(", ", recoveries)}\n{relays[0].Output}\n---\n{relays[1].Output}");
        var standby = relays[recoveries[0] == 1 ? 1 : 0];
        Assert.False(standby.HasExited);
        Assert.Contains("standing by", standby.Output, StringComparison.Ordinal);
        Assert.Equal(0, await RecoveryProbe.MetricAsync(standby, "atlas_cdc_events_published_total"));
        output.WriteLine($"standby during recovery: {delivery.Committed} events, {delivery.Duplicates} duplicates");
    }

    [Fact]
    public async Task Rows_deleted_by_hand_before_they_were_proven_delivered_are_reported_by_the_recovery_and_the_rest_is_published()
    {
        await using var scenario = await environment.CreateScenarioAsync("rowsgone");
        var topic = scenario.Topic("Gone");
        // Retention deletes delivered rows at once: those deletions are proven and must not be reported.
        var settings = new Dictionary<string, string> { ["Cdc__Retention__Age"] = "00:00:00", ["Cdc__Retention__Interval"] = "00:00:00.300" };
        var relay = await scenario.StartReadyRelayAsync(settings);
        var delivered = await scenario.InsertAsync(RelayCoreTests.Rows("Gone", 30));
        await scenario.WaitForEventsAsync([topic], delivered);
        await RecoveryProbe.WaitForHorizonAsync(scenario);
        var deadline = Stopwatch.StartNew();
        while (await scenario.ScalarAsync<long>("SELECT count(*) FROM outbox") > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "retention did not delete the delivered rows");
            await Task.Delay(200);
        }
        Assert.Equal(0L, await scenario.ScalarAsync<long>("SELECT count(*) FROM atlas_cdc_unproven_deletions"));
        await relay.KillAsync();

        var written = await scenario.InsertAsync(RelayCoreTests.Rows("Gone", 40));
        var deleted = written.Take(10).ToArray();
        await using (var connection = await scenario.OpenAsync())
            await ExecuteAsync(connection, $"DELETE FROM outbox WHERE id IN ({string.Join(", ", deleted.Select(id => $"'{id}'"))})", LongStatementSeconds);
        await RecoveryProbe.DropSlotAsync(scenario);

        relay = await scenario.StartReadyRelayAsync(settings);
        await scenario.WaitForEventsAsync([topic], written.Skip(10).ToList());
        var reported = Assert.Single(RecoveryProbe.Lines(relay, "not proven delivered were deleted"));
        Assert.Contains("10 rows", reported, StringComparison.Ordinal);
        Assert.Contains("by postgres", reported, StringComparison.Ordinal);
        Assert.Equal(10, await RecoveryProbe.MetricAsync(relay, "atlas_cdc_recovery_rows_missing_total"));
        output.WriteLine(reported);
    }

    private static async Task<string?> WalStatusAsync(NpgsqlConnection connection, string slot)
    {
        await using var command = new NpgsqlCommand("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = slot });
        return await command.ExecuteScalarAsync() as string;
    }

    /// <summary>Filling WAL and checkpoints on a loaded machine outlast the default command timeout.</summary>
    private const int LongStatementSeconds = 120;
}

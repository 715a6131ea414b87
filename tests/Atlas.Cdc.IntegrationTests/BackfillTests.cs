using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// First start: rows written before the relay ever ran are published (Cdc:Snapshot=Initial), or deliberately not
/// (Never); a backfill interrupted by SIGKILL is finished by the next start.
/// </summary>
[Collection(CdcCollection.Name)]
public class BackfillTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Rows_written_before_the_first_start_are_published_before_the_stream_in_commit_order_per_key()
    {
        await using var scenario = await environment.CreateScenarioAsync("backfill");
        var topic = scenario.Topic("Early");
        var expected = new Dictionary<string, List<Guid>>();
        async Task WriteAsync(int transactions)
        {
            for (var t = 0; t < transactions; t++)
            {
                // Three rows per transaction over three keys: order per key spans transactions and rows within one.
                var rows = Enumerable.Range(0, 3).Select(i => new OutboxRow("Early", $"key-{(t + i) % 4}", "Happened", $$"""{"t": {{t}}, "i": {{i}}}""")).ToArray();
                var ids = await scenario.InsertAsync(rows);
                for (var i = 0; i < rows.Length; i++)
                    (expected.TryGetValue(rows[i].AggregateId, out var list) ? list : expected[rows[i].AggregateId] = []).Add(ids[i]);
            }
        }
        await WriteAsync(40);
        var before = expected.Values.Sum(ids => ids.Count);

        await using var relay = await scenario.StartReadyRelayAsync();
        await WriteAsync(20);
        var records = await scenario.WaitForEventsAsync([topic], expected.Values.SelectMany(ids => ids).ToList());

        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, expected);
        Assert.Equal(before, records.Count(r => r.Header("atlas.snapshot") == "true"));
        Assert.Equal(0, OrderAssertions.Duplicates(records));
        Assert.Single(RecoveryProbe.Lines(relay, "First start: created replication slot"));
        var progress = await RecoveryProbe.ProgressAsync(scenario);
        Assert.True(progress is { HorizonXid: not null, Pending: null }, $"progress row after the backfill: {progress}");
        Assert.Equal(before, await RecoveryProbe.MetricAsync(relay, "atlas_cdc_events_backfilled_total"));

        // Applying sql/ again (as a deployment does) keeps the recorded progress.
        await using (var connection = await scenario.OpenAsync())
            foreach (var file in Directory.GetFiles(Sandbox.RepositoryPaths.SqlDirectory, "*.sql").Order(StringComparer.Ordinal))
            {
                await using var apply = new NpgsqlCommand(await File.ReadAllTextAsync(file), connection);
                await apply.ExecuteNonQueryAsync();
            }
        var reapplied = await RecoveryProbe.ProgressAsync(scenario);
        Assert.True(reapplied is { HorizonXid: { } xid } && xid >= progress!.Value.HorizonXid!.Value, $"progress row after applying sql/ again: {reapplied}");
        output.WriteLine($"{before} rows backfilled, {records.Count - before} streamed, progress {progress}");
    }

    [Fact]
    public async Task Snapshot_never_starts_at_the_current_position_and_records_progress()
    {
        await using var scenario = await environment.CreateScenarioAsync("nosnapshot");
        var topic = scenario.Topic("Late");
        var early = await scenario.InsertAsync(RelayCoreTests.Rows("Late", 10));
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__Snapshot"] = "Never" });
        var late = await scenario.InsertAsync(RelayCoreTests.Rows("Late", 10));

        var records = await scenario.WaitForEventsAsync([topic], late);
        await RecoveryProbe.WaitForHorizonAsync(scenario);
        records = await scenario.ReadTopicAsync(topic);
        Assert.DoesNotContain(records, r => early.Contains(Guid.Parse(r.Header("id")!)));
        Assert.Equal(10, records.Count);
        Assert.Contains("Cdc:Snapshot is Never", relay.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigkill_in_the_middle_of_a_backfill_the_next_start_finishes_it_and_nothing_is_lost()
    {
        const int rows = 6000;
        await using var scenario = await environment.CreateScenarioAsync("backfillkill");
        var topic = scenario.Topic("Bulk");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        await using (var connection = await scenario.OpenAsync())
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) " +
            $"SELECT 'Bulk', 'bulk-' || (g % 50), 'Imported', jsonb_build_object('n', g) FROM generate_series(1, {rows}) g", connection))
            await insert.ExecuteNonQueryAsync();
        var ids = await scenario.ScalarAsync<Guid[]>("SELECT array_agg(id) FROM outbox");

        var slow = new Dictionary<string, string> { ["Cdc__MaxInFlightEvents"] = "20" };
        using (RecoveryProbe.SlowKafka(environment.Kafka, TimeSpan.FromMilliseconds(20)))
        {
            var first = scenario.StartRelay(slow);
            await RecoveryProbe.WaitForPublishedAsync(first, 500, TimeSpan.FromSeconds(60));
            await first.KillAsync();
            var published = await scenario.ReadTopicAsync(topic);
            output.WriteLine($"SIGKILL after {published.Count} of {rows} backfilled events reached Kafka");
            Assert.InRange(published.Count, 1, rows - 1);
            var pending = await RecoveryProbe.ProgressAsync(scenario);
            Assert.True(pending is { HorizonXid: null, Pending: "backfill" }, $"progress row after the SIGKILL: {pending}");
        }

        await using var second = await scenario.StartReadyRelayAsync();
        var records = await scenario.WaitForEventsAsync([topic], ids, TimeSpan.FromSeconds(120));
        Assert.Contains("did not finish", second.Output, StringComparison.Ordinal);
        var progress = await RecoveryProbe.ProgressAsync(scenario);
        Assert.True(progress is { HorizonXid: not null, Pending: null }, $"progress row after the second start: {progress}");
        output.WriteLine($"{rows} rows, {records.Count} records, {OrderAssertions.Duplicates(records)} duplicates after a SIGKILL during the backfill");
        Assert.Equal(rows, records.Select(r => r.Header("id")).Distinct().Count());
    }
}

using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The relay deletes outbox rows whose events are delivered, after Cdc:Retention:Age, in bounded batches, without
/// blocking the applications that insert, and never a row whose event is not confirmed yet.
/// </summary>
[Collection(CdcCollection.Name)]
public class OutboxRetentionTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Retention_deletes_delivered_rows_older_than_the_age_in_bounded_batches_under_concurrent_inserts()
    {
        await using var scenario = await environment.CreateScenarioAsync("retention");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        var audit = await RetentionAudit.InstallAsync(scenario);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Retention__Age"] = "00:00:02",
            ["Cdc__Retention__Interval"] = "00:00:00.500",
            ["Cdc__Retention__BatchSize"] = "50",
        });

        await using var lockWaits = InsertLockWaits.Start(scenario);
        await using var load = WriterLoad.Start(scenario, "Load");
        // The writers run until retention has deleted in many batches alongside them, however slow the machine.
        var deletedDuringLoad = 0;
        await WaitUntilAsync(async () =>
        {
            Assert.False(relay.HasExited, relay.Output);
            var sofar = await audit.DeletedAsync();
            deletedDuringLoad = sofar.Count;
            return sofar.Count >= 2000 && sofar.Select(row => row.DeletingXid).Distinct().Count() >= 40;
        }, TimeSpan.FromSeconds(120), () => $"retention deleted {deletedDuringLoad} rows while {load.Committed} were inserted");
        await load.StopAsync();
        await lockWaits.StopAsync();

        // Everything committed reached Kafka, in order: what retention deleted plus what is still there.
        var expected = await load.CommittedByKeyAsync(RetentionAudit.AllRows);
        var records = await scenario.WaitForEventsAsync([topic], expected.Values.SelectMany(ids => ids).ToList(), TimeSpan.FromSeconds(120));
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, expected);

        // Once the writers stop, every delivered row older than the age goes, and nothing else.
        await WaitUntilAsync(async () => await scenario.ScalarAsync<long>("SELECT count(*) FROM public.outbox") == 0, TimeSpan.FromSeconds(60),
            async () => $"{await scenario.ScalarAsync<long>("SELECT count(*) FROM public.outbox")} rows left in the outbox");
        var deleted = await audit.DeletedAsync();
        Assert.Equal(expected.Values.Sum(ids => ids.Count), deleted.Count);
        RetentionAudit.AssertDeletedOnlyAfterConfirmation(deleted, records);
        Assert.All(deleted, row => Assert.True(row.Age >= TimeSpan.FromSeconds(2), $"row {row.Id} was deleted {row.Age} after created_at"));
        var largestBatch = deleted.GroupBy(row => row.DeletingXid).Max(batch => batch.Count());
        Assert.InRange(largestBatch, 1, 50);

        // Inserts never wait for retention. Concurrent inserts growing the table wait on each other's relation
        // extension lock now and then: that is PostgreSQL serving the writers, not retention, and is allowed.
        var waits = lockWaits.Waits;
        var notBetweenWriters = waits.Where(wait => !wait.IsBetweenWriters).ToList();
        Assert.True(lockWaits.Samples >= 50, $"only {lockWaits.Samples} lock samples were taken while the writers ran");
        Assert.True(notBetweenWriters.Count == 0,
            $"inserts waited on a lock not held by another insert in {notBetweenWriters.Count} of {lockWaits.Samples} samples:\n" +
            InsertLockWaits.Describe(notBetweenWriters));
        Assert.Contains($"atlas_cdc_outbox_rows_deleted_total{{outbox=\"default\"}} {deleted.Count}", await relay.GetTextAsync("/metrics"), StringComparison.Ordinal);

        output.WriteLine($"{deleted.Count} rows deleted ({deletedDuringLoad} while the writers ran) in {deleted.Select(r => r.DeletingXid).Distinct().Count()} " +
                         $"batches of at most {largestBatch}; youngest deleted row was {deleted.Min(r => r.Age).TotalSeconds:F1} s old; " +
                         $"{lockWaits.Samples} lock samples, waits between writers (relation extension): {waits.Count}; " +
                         $"max insert latency {load.MaxLatency.TotalMilliseconds:F0} ms");
        if (waits.Count > 0)
            output.WriteLine(InsertLockWaits.Describe(waits));
    }

    [Fact]
    public async Task Retention_never_deletes_a_row_not_yet_delivered_even_from_a_long_transaction_older_than_the_age()
    {
        await using var scenario = await environment.CreateScenarioAsync("retentionsafe");
        var topic = scenario.Topic("Order");
        var audit = await RetentionAudit.InstallAsync(scenario);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Retention__Age"] = "00:00:03",
            ["Cdc__Retention__Interval"] = "00:00:00.300",
        });

        var delivered = await scenario.InsertAsync(new OutboxRow("Order", "order-1", "Placed", "{}"));
        await scenario.WaitForEventsAsync([topic], delivered);
        // The premise: the relay has proven the delivered row (a horizon above its transaction is recorded) before the
        // outage. Seeing it in Kafka comes first; the proof follows a confirmation and a retention run later.
        var horizonAboveDelivered =
            $"SELECT coalesce((SELECT horizon_xid::text::numeric FROM atlas_cdc_progress WHERE slot_name = '{scenario.Slot}'), 0) " +
            $"> (SELECT xmin::text::numeric FROM outbox WHERE id = '{delivered[0]}')";
        await WaitUntilAsync(() => scenario.ScalarAsync<bool>(horizonAboveDelivered), TimeSpan.FromSeconds(30),
            async () => $"no delivery horizon above row {delivered[0]} recorded for slot {scenario.Slot}: " +
                        $"{await scenario.ScalarAsync<string>($"SELECT coalesce((SELECT horizon_xid::text FROM atlas_cdc_progress WHERE slot_name = '{scenario.Slot}'), 'none')")}");

        // A long transaction: its row's created_at is its start, seconds before it commits.
        await using var longConnection = await scenario.OpenAsync();
        var longTransaction = await longConnection.BeginTransactionAsync();
        var late = await RelayScenario.InsertAsync(longConnection, new OutboxRow("Order", "order-2", "Placed", "{}"));
        await Task.Delay(TimeSpan.FromSeconds(2));

        List<Guid> undelivered;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            await longTransaction.CommitAsync();
            undelivered = [.. late, .. await scenario.InsertAsync(RelayCoreTests.Rows("Order", 5))];

            // Retention runs during the outage: the delivered row goes once older than the age...
            await WaitUntilAsync(async () => (await audit.DeletedAsync()).Any(row => row.Id == delivered[0]), TimeSpan.FromSeconds(60),
                () => $"delivered row {delivered[0]} not deleted");
            // ...while the undelivered ones stay, well past the age.
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.Equal(undelivered.Count, await CountAsync(scenario, undelivered));
            Assert.Single(await audit.DeletedAsync());
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        var records = await scenario.WaitForEventsAsync([topic], [.. delivered, .. undelivered]);
        await WaitUntilAsync(async () => await CountAsync(scenario, undelivered) == 0, TimeSpan.FromSeconds(60),
            async () => $"{await CountAsync(scenario, undelivered)} of {undelivered.Count} rows delivered after the outage still in the outbox");
        RetentionAudit.AssertDeletedOnlyAfterConfirmation(await audit.DeletedAsync(), records);
    }

    [Fact]
    public async Task Vacuum_after_retention_keeps_the_outbox_pages_so_inserts_never_queue_behind_a_truncation_lock()
    {
        await using var scenario = await environment.CreateScenarioAsync("retentionvacuum");
        await scenario.InsertAsync(RelayCoreTests.Rows("Vacuumed", 2000));
        var before = await scenario.ScalarAsync<long>("SELECT pg_relation_size('public.outbox')");
        // What retention leaves behind when the outbox drains: every row deleted, empty pages at the table's end.
        await scenario.ScalarAsync<int>("DELETE FROM public.outbox; SELECT 1");
        await using (var connection = await scenario.OpenAsync())
        await using (var vacuum = new NpgsqlCommand("VACUUM public.outbox", connection))
            await vacuum.ExecuteNonQueryAsync(); // alone: VACUUM refuses to run inside a transaction
        var after = await scenario.ScalarAsync<long>("SELECT pg_relation_size('public.outbox')");
        Assert.True(after == before,
            $"VACUUM truncated the outbox from {before} to {after} bytes: it took an ACCESS EXCLUSIVE lock inserts would wait for " +
            "(sql/004_outbox_retention.sql sets vacuum_truncate = false)");
    }

    [Fact]
    public async Task Retention_can_be_disabled()
    {
        await using var scenario = await environment.CreateScenarioAsync("retentionoff");
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Retention__Enabled"] = "false",
            ["Cdc__Retention__Age"] = "00:00:00",
            ["Cdc__Retention__Interval"] = "00:00:00.200",
        });
        var ids = await scenario.InsertAsync(RelayCoreTests.Rows("Kept", 5));
        await scenario.WaitForEventsAsync([scenario.Topic("Kept")], ids);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(5, await CountAsync(scenario, ids));
        Assert.Contains("Outbox retention is disabled", relay.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Custom_table_in_its_own_schema_is_relayed_and_cleaned_through_its_own_retention_view()
    {
        await using var scenario = await environment.CreateScenarioAsync("customtable");
        // What docs/operations.md asks of a custom Cdc:Table: the outbox columns, a publication, and the <table>_retention view.
        await scenario.ScalarAsync<int>(
            """
            CREATE SCHEMA sales;
            CREATE TABLE sales.order_events (LIKE public.outbox INCLUDING ALL);
            CREATE PUBLICATION sales_outbox FOR TABLE sales.order_events WITH (publish = 'insert');
            CREATE VIEW sales.order_events_retention AS SELECT id, created_at, xmin AS inserted_xid FROM sales.order_events;
            GRANT USAGE ON SCHEMA sales TO atlas_cdc_relay;
            GRANT SELECT, DELETE ON sales.order_events TO atlas_cdc_relay;
            GRANT SELECT ON sales.order_events_retention TO atlas_cdc_relay;
            SELECT 1
            """);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Table"] = "sales.order_events",
            ["Cdc__Publication"] = "sales_outbox",
            ["Cdc__Retention__Age"] = "00:00:00",
            ["Cdc__Retention__Interval"] = "00:00:00.300",
        });
        var ids = await scenario.ScalarAsync<Guid[]>(
            "WITH inserted AS (INSERT INTO sales.order_events (aggregate_type, aggregate_id, event_type, payload) " +
            "SELECT 'Sale', 'sale-' || g, 'Sold', jsonb_build_object('n', g) FROM generate_series(1, 10) g RETURNING id) SELECT array_agg(id) FROM inserted");
        var outboxRow = await scenario.InsertAsync(new OutboxRow("Sale", "not-relayed", "Ignored", "{}")); // public.outbox is not this relay's table

        var records = await scenario.WaitForEventsAsync([scenario.Topic("Sale")], ids);
        Assert.DoesNotContain(records, r => r.Header("id") == outboxRow[0].ToString());
        await WaitUntilAsync(async () => await scenario.ScalarAsync<long>("SELECT count(*) FROM sales.order_events") == 0, TimeSpan.FromSeconds(60),
            async () => $"{await scenario.ScalarAsync<long>("SELECT count(*) FROM sales.order_events")} rows left in sales.order_events");
        Assert.Equal(1L, await scenario.ScalarAsync<long>("SELECT count(*) FROM public.outbox"));
        Assert.Contains($"atlas_cdc_outbox_rows_deleted_total{{outbox=\"default\"}} {ids.Length}", await relay.GetTextAsync("/metrics"), StringComparison.Ordinal);
        Assert.Contains("(view \"sales\".\"order_events_retention\")", relay.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_streaming_relay_deletes_and_a_standby_starts_deleting_once_it_takes_over()
    {
        await using var scenario = await environment.CreateScenarioAsync("retentionstandby");
        var retention = new Dictionary<string, string>
        {
            ["Cdc__Retention__Age"] = "00:00:00",
            ["Cdc__Retention__Interval"] = "00:00:00.200",
            ["Cdc__StandbyRetryInterval"] = "00:00:00.500",
        };
        var active = await scenario.StartReadyRelayAsync(retention);
        await using var standby = scenario.StartRelay(retention);
        await WaitUntilAsync(() => Task.FromResult(standby.Output.Contains("standing by", StringComparison.Ordinal)), TimeSpan.FromSeconds(60),
            () => $"the second relay never stood by:\n{RelayProbe.Tail(standby.Output)}");

        var first = await scenario.InsertAsync(RelayCoreTests.Rows("Kept", 20));
        await scenario.WaitForEventsAsync([scenario.Topic("Kept")], first);
        await WaitUntilAsync(async () => await CountAsync(scenario, first) == 0, TimeSpan.FromSeconds(60),
            async () => $"{await CountAsync(scenario, first)} of {first.Count} delivered rows not deleted yet");
        await Task.Delay(TimeSpan.FromSeconds(1)); // five more retention intervals of the standby
        Assert.Equal(first.Count, await RelayProbe.MetricAsync(active, "atlas_cdc_outbox_rows_deleted_total{outbox=\"default\"}"));
        Assert.Equal(0, await RelayProbe.MetricAsync(standby, "atlas_cdc_outbox_rows_deleted_total{outbox=\"default\"}") ?? 0);
        Assert.Equal(1, await RelayProbe.MetricAsync(standby, "atlas_cdc_stream_state{state=\"standby\"}"));

        await active.KillAsync();
        await standby.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
        var second = await scenario.InsertAsync(RelayCoreTests.Rows("Kept", 10));
        await scenario.WaitForEventsAsync([scenario.Topic("Kept")], second);
        await WaitUntilAsync(async () => await CountAsync(scenario, second) == 0, TimeSpan.FromSeconds(60),
            async () => $"{await CountAsync(scenario, second)} of {second.Count} delivered rows not deleted yet");
        Assert.Equal(second.Count, await RelayProbe.MetricAsync(standby, "atlas_cdc_outbox_rows_deleted_total{outbox=\"default\"}"));
    }

    private static async Task<long> CountAsync(RelayScenario scenario, IEnumerable<Guid> ids) =>
        await scenario.ScalarAsync<long>($"SELECT count(*) FROM public.outbox WHERE id IN ({string.Join(", ", ids.Select(id => $"'{id}'"))})");

    private static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> seen) =>
        WaitUntilAsync(condition, timeout, () => Task.FromResult(seen()));

    private static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> seen) =>
        Poll.UntilAsync("retention test condition", condition, timeout, seen);
}

using System.Globalization;
using System.Net;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.IntegrationTests;

[Collection(CdcCollection.Name)]
public class RelayCoreTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Single_row_transaction_arrives_with_topic_key_payload_and_headers()
    {
        await using var scenario = await environment.CreateScenarioAsync("single");
        await using var relay = await scenario.StartReadyRelayAsync();
        var before = await scenario.CurrentWalLsnAsync();

        var ids = await scenario.InsertAsync(new OutboxRow("Order", "order-1", "OrderPlaced",
            """{"total": 10.5, "items": ["book"], "note": "café ✓"}""",
            """{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "attempt": 2, "tags": {"a": [1]}}"""));
        var after = await scenario.CurrentWalLsnAsync();

        var record = Assert.Single(await scenario.WaitForEventsAsync([scenario.Topic("Order")], ids));
        var expectedPayload = await scenario.ScalarAsync<string>($"SELECT payload::text FROM outbox WHERE id = '{ids[0]}'");
        Assert.Equal("order-1", record.Key);
        Assert.Equal(expectedPayload, record.Payload);
        Assert.Equal(ids[0].ToString(), record.Header("id"));
        Assert.Equal("OrderPlaced", record.Header("event_type"));
        Assert.Equal("Order", record.Header("aggregate_type"));
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", record.Header("traceparent"));
        Assert.Equal("2", record.Header("attempt"));
        Assert.Equal("""{"a": [1]}""", record.Header("tags"));

        var commitLsn = NpgsqlLogSequenceNumber.Parse(record.Header("atlas.commit_lsn")!);
        Assert.InRange((ulong)commitLsn, (ulong)before, (ulong)after);
        var commitTime = DateTimeOffset.Parse(record.Header("atlas.commit_time")!, CultureInfo.InvariantCulture);
        Assert.InRange(commitTime, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task Header_names_and_values_keep_their_bytes_null_empty_and_unicode_alike_and_the_timestamp_is_the_commit_time()
    {
        await using var scenario = await environment.CreateScenarioAsync("headerbytes");
        await using var relay = await scenario.StartReadyRelayAsync();
        var longName = new string('h', 300);

        var ids = await scenario.InsertAsync(new OutboxRow("Order", "order-é", "OrderPlaced", """{"n": 1}""",
            $$"""{"none": null, "empty": "", "clé ✓": "valeur ✓", "{{longName}}": "long name", "quote": "a\"b"}"""));

        var record = Assert.Single(await scenario.WaitForEventsAsync([scenario.Topic("Order")], ids));
        string Only(string name) => Assert.Single(record.Headers, h => h.Key == name).Value ?? "(null)";
        Assert.Equal("order-é", record.Key);
        Assert.Equal("(null)", Only("none"));
        Assert.Equal("", Only("empty"));
        Assert.Equal("valeur ✓", Only("clé ✓"));
        Assert.Equal("long name", Only(longName));
        Assert.Equal("a\"b", Only("quote"));
        var commitTime = DateTimeOffset.Parse(record.Header("atlas.commit_time")!, CultureInfo.InvariantCulture);
        Assert.Equal(commitTime.ToUnixTimeMilliseconds(), record.Timestamp.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Many_row_transaction_arrives_whole_and_in_insert_order_per_key()
    {
        await using var scenario = await environment.CreateScenarioAsync("many");
        await using var relay = await scenario.StartReadyRelayAsync();

        var rows = Enumerable.Range(0, 1000)
            .Select(i => new OutboxRow(i % 2 == 0 ? "Order" : "Invoice", $"agg-{i % 10}", "Changed", $$"""{"seq": {{i}}}"""))
            .ToArray();
        var ids = await scenario.InsertAsync(rows);

        var records = await scenario.WaitForEventsAsync([scenario.Topic("Order"), scenario.Topic("Invoice")], ids);
        Assert.Equal(1000, records.Count);
        var expected = rows.Zip(ids).GroupBy(p => p.First.AggregateId).ToDictionary(g => g.Key, g => g.Select(p => p.Second).ToList());
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, expected);
        Assert.All(records, r => Assert.Equal(r.Topic == scenario.Topic("Order") ? "Order" : "Invoice", r.Header("aggregate_type")));
    }

    [Fact]
    public async Task Interleaved_transactions_are_delivered_in_commit_order_not_insert_order()
    {
        await using var scenario = await environment.CreateScenarioAsync("interleaved");
        await using var relay = await scenario.StartReadyRelayAsync();

        await using var first = await scenario.OpenAsync();
        await using var second = await scenario.OpenAsync();
        await using var firstTransaction = await first.BeginTransactionAsync();
        var a1 = await RelayScenario.InsertAsync(first, new OutboxRow("Account", "acc-1", "A1", "{}"));
        await using var secondTransaction = await second.BeginTransactionAsync();
        var b1 = await RelayScenario.InsertAsync(second, new OutboxRow("Account", "acc-1", "B1", "{}"));
        var a2 = await RelayScenario.InsertAsync(first, new OutboxRow("Account", "acc-1", "A2", "{}"));
        await secondTransaction.CommitAsync();
        await firstTransaction.CommitAsync();

        var records = await scenario.WaitForEventsAsync([scenario.Topic("Account")], [.. a1, .. b1, .. a2]);
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, new Dictionary<string, List<Guid>>
        {
            ["acc-1"] = [b1[0], a1[0], a2[0]],
        });
    }

    [Fact]
    public async Task Rolled_back_transactions_and_savepoints_never_appear()
    {
        await using var scenario = await environment.CreateScenarioAsync("rollback");
        await using var relay = await scenario.StartReadyRelayAsync();

        await using var connection = await scenario.OpenAsync();
        await using (var rolledBack = await connection.BeginTransactionAsync())
        {
            await RelayScenario.InsertAsync(connection, new OutboxRow("Cart", "cart-1", "RolledBack", "{}"));
            await rolledBack.RollbackAsync();
        }
        List<Guid> kept = [];
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            kept.AddRange(await RelayScenario.InsertAsync(connection, new OutboxRow("Cart", "cart-1", "Kept1", "{}")));
            await transaction.SaveAsync("before_discard");
            await RelayScenario.InsertAsync(connection, new OutboxRow("Cart", "cart-1", "Discarded", "{}"));
            await transaction.RollbackAsync("before_discard");
            kept.AddRange(await RelayScenario.InsertAsync(connection, new OutboxRow("Cart", "cart-1", "Kept2", "{}")));
            await transaction.CommitAsync();
        }
        // A later transaction proves the relay has read past everything above.
        var marker = await scenario.InsertAsync(new OutboxRow("Cart", "cart-1", "Marker", "{}"));

        var records = await scenario.WaitForEventsAsync([scenario.Topic("Cart")], [.. kept, .. marker]);
        Assert.Equal(["Kept1", "Kept2", "Marker"], records.OrderBy(r => r.Offset).Select(r => r.Header("event_type")));
    }

    [Fact]
    public async Task Sigterm_drains_and_confirms_so_a_restart_resumes_without_loss_or_duplicates()
    {
        await using var scenario = await environment.CreateScenarioAsync("resume");
        var relay = await scenario.StartReadyRelayAsync();
        var firstIds = await scenario.InsertAsync(Rows("Payment", 200));
        await scenario.WaitForEventsAsync([scenario.Topic("Payment")], firstIds);
        var lastCommit = await scenario.CurrentWalLsnAsync();

        Assert.Equal(0, await relay.TerminateAsync(TimeSpan.FromSeconds(30)));
        Assert.True(await scenario.ConfirmedLsnAsync() >= lastCommit, "SIGTERM must confirm what Kafka acknowledged");

        var whileDown = await scenario.InsertAsync(Rows("Payment", 200));
        await using var restarted = await scenario.StartReadyRelayAsync();
        var records = await scenario.WaitForEventsAsync([scenario.Topic("Payment")], [.. firstIds, .. whileDown]);

        Assert.Equal(400, records.Count);
        Assert.Equal(0, OrderAssertions.Duplicates(records));
    }

    [Fact]
    public async Task Confirmed_lsn_passes_the_last_commit_within_seconds_of_delivery()
    {
        await using var scenario = await environment.CreateScenarioAsync("confirm");
        await using var relay = await scenario.StartReadyRelayAsync();
        var ids = await scenario.InsertAsync(Rows("Shipment", 50));
        var lastCommit = await scenario.CurrentWalLsnAsync();
        await scenario.WaitForEventsAsync([scenario.Topic("Shipment")], ids);

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await scenario.ConfirmedLsnAsync() < lastCommit && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(await scenario.ConfirmedLsnAsync() >= lastCommit,
            $"confirmed {await scenario.ConfirmedLsnAsync()} is still before the last commit {lastCommit} five seconds after delivery");
    }

    [Fact]
    public async Task Health_readiness_and_metrics_endpoints_answer()
    {
        await using var scenario = await environment.CreateScenarioAsync("endpoints");
        await using var relay = await scenario.StartReadyRelayAsync();
        var ids = await scenario.InsertAsync(Rows("Ticket", 3));
        await scenario.WaitForEventsAsync([scenario.Topic("Ticket")], ids);

        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/healthz"));
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
        var metrics = await relay.GetTextAsync("/metrics");
        Assert.Contains($"atlas_cdc_events_published_total{{outbox=\"default\",topic=\"{scenario.Topic("Ticket")}\"}} 3", metrics);
        Assert.Contains("atlas_cdc_stream_state{state=\"streaming\"} 1", metrics);
        Assert.Contains("atlas_cdc_end_to_end_latency_seconds_count{outbox=\"default\"} 3", metrics);
    }

    [Fact]
    public async Task Rows_of_other_tables_in_the_publication_are_ignored_with_a_warning_and_confirmed_past()
    {
        await using var scenario = await environment.CreateScenarioAsync("othertable");
        await scenario.ScalarAsync<int>(
            "CREATE TABLE public.audit_log (id bigint, note text); ALTER PUBLICATION atlas_cdc_outbox ADD TABLE public.audit_log; SELECT 1");
        await using var relay = await scenario.StartReadyRelayAsync();

        List<Guid> ids;
        await using (var connection = await scenario.OpenAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var audit = new NpgsqlCommand("INSERT INTO public.audit_log SELECT g, 'audited' FROM generate_series(1, 5) g", connection))
                await audit.ExecuteNonQueryAsync();
            ids = await RelayScenario.InsertAsync(connection, Rows("Mixed", 3));
            await transaction.CommitAsync();
        }
        await scenario.ScalarAsync<int>("INSERT INTO public.audit_log VALUES (6, 'alone'); SELECT 1");
        var lastCommit = await scenario.CurrentWalLsnAsync();

        var records = await scenario.WaitForEventsAsync([scenario.Topic("Mixed")], ids);
        Assert.Equal(3, records.Count);
        var warning = Assert.Single(relay.Output.Split('\n'), line => line.Contains("also publishes", StringComparison.Ordinal));
        Assert.Contains("Publication atlas_cdc_outbox also publishes public.audit_log; the relay ignores its rows", warning, StringComparison.Ordinal);
        Assert.Empty(await scenario.ReadTopicAsync(scenario.DeadLetterTopic));
        // The transaction with only ignored rows is confirmed like any other: it does not hold the slot back.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await scenario.ConfirmedLsnAsync() < lastCommit && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(await scenario.ConfirmedLsnAsync() >= lastCommit, $"the slot was not confirmed past the audit-only transaction ending before {lastCommit}");
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
    }

    internal static OutboxRow[] Rows(string aggregateType, int count, int keys = 5) =>
        Enumerable.Range(0, count)
            .Select(i => new OutboxRow(aggregateType, $"{aggregateType.ToLowerInvariant()}-{i % keys}", "Happened", $$"""{"n": {{i}}}"""))
            .ToArray();
}

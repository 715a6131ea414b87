using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Several outbox tables through one slot: one of the contract's shape added with sql/007_add_outbox.sql, one made
/// as Debezium's documentation shows its outbox table, each with its own routing; order across tables; and the
/// start-up errors that name what to fix before anything is published.
/// </summary>
[Collection(CdcCollection.Name)]
public class MultipleOutboxTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private static readonly TimeSpan s_exitLimit = TimeSpan.FromSeconds(60);

    /// <summary>Debezium's outbox event router documentation: the table its defaults expect.</summary>
    private const string DebeziumTable = """
        CREATE TABLE public.outboxevent (
            id            uuid         NOT NULL PRIMARY KEY,
            aggregatetype varchar(255) NOT NULL,
            aggregateid   varchar(255) NOT NULL,
            type          varchar(255) NOT NULL,
            payload       jsonb
        );
        GRANT SELECT ON public.outboxevent TO atlas_cdc_relay;
        GRANT INSERT ON public.outboxevent TO atlas_cdc_writer;
        ALTER PUBLICATION atlas_cdc_outbox ADD TABLE public.outboxevent;
        """;

    [Fact]
    public async Task A_contract_outbox_and_a_debezium_shaped_outbox_relay_through_one_slot_as_debezium_s_router_would_route_them()
    {
        await using var scenario = await environment.CreateScenarioAsync("twoshapes");
        await ExecuteAsync(scenario, "CALL public.atlas_cdc_add_outbox('billing', 'outbox'); CALL public.atlas_cdc_add_outbox('billing', 'outbox');");
        await ExecuteAsync(scenario, DebeziumTable);
        // Debezium's default routing writes to outbox.event.<aggregatetype>: a type of this run's own keeps the topic apart.
        var aggregateType = "Order" + Guid.NewGuid().ToString("N")[..8];
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Outboxes__billing__Table"] = "billing.outbox",
            ["Cdc__Outboxes__billing__TopicTemplate"] = scenario.TopicPrefix + ".billing.{aggregate_type}",
            ["Cdc__Outboxes__orders__Table"] = "public.outboxevent",
            ["Cdc__Outboxes__orders__Preset"] = "Debezium",
        });

        var debeziumIds = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToList();
        var billingIds = new List<Guid>();
        await using (var connection = await scenario.OpenAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            for (var i = 0; i < 3; i++)
            {
                await using (var debezium = new NpgsqlCommand(
                    "INSERT INTO public.outboxevent (id, aggregatetype, aggregateid, type, payload) VALUES ($1, $2, $3, 'OrderCreated', $4::jsonb)", connection, transaction))
                {
                    debezium.Parameters.Add(new NpgsqlParameter { Value = debeziumIds[i] });
                    debezium.Parameters.Add(new NpgsqlParameter { Value = aggregateType });
                    debezium.Parameters.Add(new NpgsqlParameter { Value = $"order-{i}" });
                    debezium.Parameters.Add(new NpgsqlParameter { Value = $$"""{"orderId": {{i}}, "lines": [{"sku": "A-{{i}}", "qty": 2}]}""" });
                    await debezium.ExecuteNonQueryAsync();
                }
                await using var billing = new NpgsqlCommand(
                    "INSERT INTO billing.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('Invoice', $1, 'InvoiceIssued', $2::jsonb) RETURNING id",
                    connection, transaction);
                billing.Parameters.Add(new NpgsqlParameter { Value = $"invoice-{i}" });
                billing.Parameters.Add(new NpgsqlParameter { Value = $$"""{"invoice": {{i}}}""" });
                billingIds.Add((Guid)(await billing.ExecuteScalarAsync())!);
            }
            await transaction.CommitAsync();
        }

        var debeziumTopic = $"outbox.event.{aggregateType}";
        var records = await scenario.WaitForEventsAsync([debeziumTopic], debeziumIds);
        // What Debezium's router documents for this table: topic outbox.event.<aggregatetype>, key = aggregateid,
        // value = payload, header id = the event id; one key's events in the order they were written.
        for (var i = 0; i < 3; i++)
        {
            var record = Assert.Single(records, r => r.Header("id") == debeziumIds[i].ToString());
            Assert.Equal(debeziumTopic, record.Topic);
            Assert.Equal($"order-{i}", record.Key);
            using var value = JsonDocument.Parse(record.Payload!);
            Assert.Equal(i, value.RootElement.GetProperty("orderId").GetInt32());
            Assert.Equal($"A-{i}", value.RootElement.GetProperty("lines")[0].GetProperty("sku").GetString());
            Assert.Equal("OrderCreated", record.Header("event_type"));
        }
        var billingRecords = await scenario.WaitForEventsAsync([scenario.TopicPrefix + ".billing.Invoice"], billingIds);
        Assert.Equal(billingIds.Select(id => id.ToString()).Order(), billingRecords.Select(r => r.Header("id")).Order());
        Assert.All(billingRecords, r => Assert.StartsWith("invoice-", r.Key, StringComparison.Ordinal));
        Assert.Contains("billing.outbox", relay.Output, StringComparison.Ordinal);
        output.WriteLine($"{records.Count} Debezium-shaped and {billingRecords.Count} contract records through slot {scenario.Slot}");
    }

    [Fact]
    public async Task One_key_written_to_two_outboxes_keeps_the_written_order_in_a_first_start_backfill_and_in_the_stream()
    {
        await using var scenario = await environment.CreateScenarioAsync("twoorder");
        await ExecuteAsync(scenario, "CALL public.atlas_cdc_add_outbox('billing', 'outbox');");
        var topic = scenario.Topic("Account");
        environment.Kafka.CreateTopic(topic, partitions: 4);
        var written = new List<Guid>();
        written.AddRange(await WriteInterleavedAsync(scenario, "before")); // backfilled at the first start
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Outboxes__main__Table"] = "public.outbox",
            ["Cdc__Outboxes__billing__Table"] = "billing.outbox",
        };
        await using var relay = await scenario.StartReadyRelayAsync(settings);
        written.AddRange(await WriteInterleavedAsync(scenario, "after")); // streamed

        var records = await scenario.WaitForEventsAsync([topic], written);
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, new Dictionary<string, List<Guid>> { ["account-1"] = written });
        Assert.Contains(records, r => r.Header("atlas.snapshot") == "true");

        var replay = await RelayCommand.RunAsync(["replay", "--outbox", "billing", "--dry-run"], scenario.RelaySettings(settings));
        Assert.True(replay.ExitCode == 0, replay.ToString());
        Assert.Equal("8 events would be published again from outbox 'billing' (billing.outbox) (dry run: nothing was published)", replay.StandardOutput.Trim());
        var unknown = await RelayCommand.RunAsync(["replay", "--outbox", "nope", "--dry-run"], scenario.RelaySettings(settings));
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.Contains("--outbox 'nope' is not an outbox of the settings; they are: billing, main.", unknown.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outbox_listed_later_is_backfilled_on_its_own_at_the_next_start_without_publishing_the_others_again()
    {
        await using var scenario = await environment.CreateScenarioAsync("addlater");
        var mainTopic = scenario.Topic("Order");
        var billingTopic = scenario.TopicPrefix + ".billing.Invoice";
        var first = await scenario.StartReadyRelayAsync();
        var orders = await scenario.InsertAsync(RelayCoreTests.Rows("Order", 5));
        await scenario.WaitForEventsAsync([mainTopic], orders);

        // The table exists and is published before the relay lists it: what is written now, the relay ignores.
        await ExecuteAsync(scenario, "CALL public.atlas_cdc_add_outbox('billing', 'outbox');");
        var early = await InsertBillingAsync(scenario, 4);
        await Poll.UntilAsync("the running relay to see billing.outbox and leave its rows", () =>
            Task.FromResult(first.Output.Contains("also publishes billing.outbox; the relay ignores its rows", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), () => Task.FromResult(RelayProbe.Tail(first.Output, 10)));
        Assert.Equal(0, await first.TerminateAsync());

        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Outboxes__main__Table"] = "public.outbox",
            ["Cdc__Outboxes__billing__Table"] = "billing.outbox",
            ["Cdc__Outboxes__billing__TopicTemplate"] = scenario.TopicPrefix + ".billing.{aggregate_type}",
        });
        var late = await InsertBillingAsync(scenario, 3);
        var billing = await scenario.WaitForEventsAsync([billingTopic], [.. early, .. late]);
        Assert.All(billing.Where(r => early.Contains(Guid.Parse(r.Header("id")!))), r => Assert.Equal("true", r.Header("atlas.snapshot")));
        Assert.Contains($"New to slot {scenario.Slot}: outbox 'billing' (billing.outbox)", relay.Output, StringComparison.Ordinal);

        var moreOrders = await scenario.InsertAsync(RelayCoreTests.Rows("Order", 2));
        var main = await scenario.WaitForEventsAsync([mainTopic], [.. orders, .. moreOrders]);
        Assert.True(OrderAssertions.Duplicates(main) == 0,
            $"the outbox already covered was published again: {OrderAssertions.Duplicates(main)} duplicates among {main.Count} records");
        Assert.DoesNotContain(main, r => r.Header("atlas.snapshot") == "true");
        output.WriteLine($"{early.Count} billing rows backfilled on their own, {late.Count} streamed; {main.Count} order records, no duplicates");
    }

    [Fact]
    public async Task Tables_and_columns_that_cannot_serve_their_outbox_end_the_relay_with_exit_2_naming_each_before_anything_is_published()
    {
        await using var scenario = await environment.CreateScenarioAsync("badoutboxes");
        await ExecuteAsync(scenario, DebeziumTable);
        await ExecuteAsync(scenario, "CREATE TABLE public.typed (id uuid PRIMARY KEY, aggregatetype int, aggregateid text, type text, payload jsonb); " +
                                     "GRANT SELECT ON public.typed TO atlas_cdc_relay;");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Outboxes__main__Table"] = "public.outbox",
            ["Cdc__Outboxes__gone__Table"] = "public.no_such_outbox",
            ["Cdc__Outboxes__orders__Table"] = "public.outboxevent",
            ["Cdc__Outboxes__orders__Preset"] = "Debezium",
            ["Cdc__Outboxes__orders__TopicTemplate"] = scenario.TopicPrefix + ".{aggregate_type}",
            ["Cdc__Outboxes__orders__AdditionalHeaders__tenant"] = "tenant",
            ["Cdc__Outboxes__typed__Table"] = "public.typed",
            ["Cdc__Outboxes__typed__Preset"] = "Debezium",
            ["Cdc__Outboxes__typed__TopicTemplate"] = "typed.{aggregate_type}",
        });
        Assert.Contains($"Outbox table public.no_such_outbox (Cdc:Outboxes:gone:Table) does not exist in database '{scenario.Database}'", fatal, StringComparison.Ordinal);
        Assert.Contains("outbox 'orders' (public.outboxevent) has no column 'tenant' for AdditionalHeaders:tenant", fatal, StringComparison.Ordinal);
        Assert.Contains("column 'aggregatetype' (AggregateType, set by Cdc:Outboxes:typed:Columns:AggregateType) is integer", fatal, StringComparison.Ordinal);
        Assert.Contains("Outboxes 'main' and 'orders' may route to the same topic", fatal, StringComparison.Ordinal);
        Assert.Contains("outbox 'orders' (public.outboxevent) has none", fatal, StringComparison.Ordinal);

        await ExecuteAsync(scenario, "CREATE TABLE public.outside (LIKE public.outbox INCLUDING ALL); GRANT SELECT ON public.outside TO atlas_cdc_relay;");
        var unpublished = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Outboxes__main__Table"] = "public.outbox",
            ["Cdc__Outboxes__outside__Table"] = "public.outside",
        });
        Assert.Contains("does not include the outbox table public.outside (Cdc:Outboxes:outside:Table): ALTER PUBLICATION atlas_cdc_outbox ADD TABLE public.outside;",
            unpublished, StringComparison.Ordinal);
        Assert.Equal(0, await scenario.ScalarAsync<long>($"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{scenario.Slot}'"));
    }

    [Fact]
    public async Task An_outbox_added_by_sql_007_has_the_columns_and_indexes_sql_001_to_006_give_public_outbox()
    {
        // sql/007 writes the contract's table a second time (a procedure cannot run before the roles it grants to):
        // this keeps the two in step.
        await using var scenario = await environment.CreateScenarioAsync("sameshape");
        await ExecuteAsync(scenario, "CALL public.atlas_cdc_add_outbox('billing', 'outbox');");
        async Task<List<string>> ShapeAsync(string schema)
        {
            await using var connection = await scenario.OpenAsync();
            await using var command = new NpgsqlCommand("""
                SELECT format('column %s %s null=%s default=%s', column_name, data_type, is_nullable, column_default)
                FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'outbox'
                UNION ALL
                SELECT 'index ' || replace(indexdef, $1 || '.', '')
                FROM pg_indexes WHERE schemaname = $1 AND tablename = 'outbox'
                ORDER BY 1
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = schema });
            var shape = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                shape.Add(reader.GetString(0));
            return shape;
        }
        var contract = await ShapeAsync("public");
        Assert.Equal(contract, await ShapeAsync("billing"));
        Assert.Contains(contract, line => line.StartsWith("column idempotency_key", StringComparison.Ordinal));
    }

    /// <summary>Invoices into billing.outbox (made by sql/007), keys invoice-0 and invoice-1 in turn.</summary>
    internal static async Task<List<Guid>> InsertBillingAsync(RelayScenario scenario, int count)
    {
        var ids = new List<Guid>();
        await using var connection = await scenario.OpenAsync();
        for (var i = 0; i < count; i++)
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO billing.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('Invoice', $1, 'InvoiceIssued', '{}') RETURNING id", connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = $"invoice-{i % 2}" });
            ids.Add((Guid)(await insert.ExecuteScalarAsync())!);
        }
        return ids;
    }

    private static async Task<List<Guid>> WriteInterleavedAsync(RelayScenario scenario, string round)
    {
        var ids = new List<Guid>();
        await using var connection = await scenario.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        for (var i = 0; i < 8; i++)
        {
            var table = i % 2 == 0 ? "public.outbox" : "billing.outbox";
            await using var insert = new NpgsqlCommand(
                $"INSERT INTO {table} (aggregate_type, aggregate_id, event_type, payload) VALUES ('Account', 'account-1', 'Changed', $1::jsonb) RETURNING id",
                connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter { Value = $$"""{"round": "{{round}}", "step": {{i}}}""" });
            ids.Add((Guid)(await insert.ExecuteScalarAsync())!);
        }
        await transaction.CommitAsync();
        return ids;
    }

    private static async Task ExecuteAsync(RelayScenario scenario, string sql)
    {
        await using var connection = await scenario.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<string> RunUntilExitAsync(RelayScenario scenario, IReadOnlyDictionary<string, string> extra)
    {
        var stopwatch = Stopwatch.StartNew();
        var relay = scenario.StartRelay(extra);
        var exitCode = await relay.WaitForExitAsync(s_exitLimit);
        Assert.True(exitCode == 2, $"exit code {exitCode}, not 2:\n{relay.Output}");
        var fatal = Assert.Single(relay.Output.Split('\n'), line => line.Contains("Fatal:", StringComparison.Ordinal));
        output.WriteLine($"exit 2 after {stopwatch.Elapsed.TotalSeconds:F1} s: {fatal.Trim()}");
        return fatal;
    }
}

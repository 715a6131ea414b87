using Atlas.Cdc.Sandbox.SchemaRegistry;
using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Two outboxes through one slot, each with its own value format, schema subject, dead-letter topic and retention,
/// counted under its own <c>outbox</c> label; <c>replay --dead-letters --outbox</c> reads only that outbox's dead
/// letters; a lost slot publishes again the undelivered rows of both tables.
/// </summary>
[Collection(CdcCollection.Name)]
public class PerOutboxSettingsTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private const string InvoiceSchema = """
        {"type": "record", "name": "Invoice", "namespace": "com.acme.billing", "fields": [{"name": "invoice", "type": "int"}]}
        """;

    [Fact]
    public async Task Each_outbox_writes_its_own_format_under_its_own_subject_dead_letters_to_its_own_topic_and_counts_under_its_own_label()
    {
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("perbox");
        await using (var connection = await scenario.OpenAsync())
        await using (var add = new NpgsqlCommand("CALL public.atlas_cdc_add_outbox('billing', 'outbox')", connection))
            await add.ExecuteNonQueryAsync();
        var billingTopic = scenario.TopicPrefix + ".billing.Invoice";
        var billingDeadLetters = scenario.TopicPrefix + ".billing.dlq";
        var subject = scenario.TopicPrefix + ".billing-InvoiceIssued";
        var version = registry.Register(subject, InvoiceSchema);
        var settings = new Dictionary<string, string>
        {
            ["Cdc__SchemaRegistry__Url"] = registry.Url,
            ["Cdc__SchemaRegistry__RefreshInterval"] = "00:00:01",
            ["Cdc__Outboxes__main__Table"] = "public.outbox",
            ["Cdc__Outboxes__billing__Table"] = "billing.outbox",
            ["Cdc__Outboxes__billing__TopicTemplate"] = scenario.TopicPrefix + ".billing.{aggregate_type}",
            ["Cdc__Outboxes__billing__ValueFormat"] = "Avro",
            ["Cdc__Outboxes__billing__Subject"] = scenario.TopicPrefix + ".billing-{event_type}",
            ["Cdc__Outboxes__billing__DeadLetterTopic"] = billingDeadLetters,
        };
        await using var relay = await scenario.StartReadyRelayAsync(settings);

        // main: two good events and one whose aggregate type makes an illegal topic; billing: two that fit the
        // schema and one that does not.
        var mainGood = await scenario.InsertAsync(new OutboxRow("Account", "account-1", "Opened", """{"n": 1}"""),
            new OutboxRow("Account", "account-1", "Closed", """{"n": 2}"""));
        var mainBad = await scenario.InsertAsync(new OutboxRow("Not a topic/ü", "account-2", "Opened", """{"n": 3}"""));
        var billingGood = new List<Guid>();
        var billingBad = new List<Guid>();
        await using (var connection = await scenario.OpenAsync())
        {
            foreach (var (payload, into) in new[] { ("""{"invoice": 1}""", billingGood), ("""{"invoice": "one"}""", billingBad), ("""{"invoice": 2}""", billingGood) })
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO billing.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('Invoice', 'invoice-1', 'InvoiceIssued', $1::jsonb) RETURNING id",
                    connection);
                insert.Parameters.Add(new NpgsqlParameter { Value = payload });
                into.Add((Guid)(await insert.ExecuteScalarAsync())!);
            }
        }

        var mainRecords = await scenario.WaitForEventsAsync([scenario.Topic("Account")], mainGood);
        Assert.All(mainRecords, r => Assert.StartsWith("{\"n\": ", r.Payload, StringComparison.Ordinal)); // Json, as Cdc:Value:Format says
        var billingRecords = await scenario.WaitForEventsAsync([billingTopic], billingGood);
        using var decoder = new AvroRecordDecoder(registry.Url);
        foreach (var (record, expected) in billingRecords.OrderBy(r => billingGood.IndexOf(Guid.Parse(r.Header("id")!))).Zip([1, 2]))
        {
            var (schemaId, datum) = await decoder.DecodeAsync(record.PayloadBytes!);
            Assert.Equal(version.Id, schemaId);
            Assert.Equal($$"""{"invoice": {{expected}}}""", AvroRecordDecoder.Render(datum));
        }

        var billingDead = Assert.Single(await scenario.WaitForEventsAsync([billingDeadLetters], billingBad));
        Assert.Contains(subject, billingDead.Header("atlas.dlq.reason"), StringComparison.Ordinal);
        var mainDead = await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], mainBad);
        Assert.Equal([mainBad[0].ToString()], mainDead.Select(r => r.Header("id")));

        // Acknowledgements are counted just after the tracker hears of them: wait for the counters, with a deadline.
        string[] expectedSeries =
        [
            $"atlas_cdc_events_published_total{{outbox=\"main\",topic=\"{scenario.Topic("Account")}\"}} 2",
            $"atlas_cdc_events_published_total{{outbox=\"billing\",topic=\"{billingTopic}\"}} 2",
            "atlas_cdc_events_dead_lettered_total{outbox=\"main\"} 1",
            "atlas_cdc_events_dead_lettered_total{outbox=\"billing\"} 1",
        ];
        var metrics = "";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            metrics = await relay.GetTextAsync("/metrics");
            if (expectedSeries.All(series => metrics.Contains(series + "\n", StringComparison.Ordinal)))
                break;
            await Task.Delay(100);
        }
        foreach (var series in expectedSeries)
            Assert.True(metrics.Contains(series + "\n", StringComparison.Ordinal),
                $"no '{series}' in /metrics:\n{string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("atlas_cdc_events_", StringComparison.Ordinal)))}");

        var replay = await RelayCommand.RunAsync(["replay", "--dead-letters", "--outbox", "billing", "--dry-run"], scenario.RelaySettings(settings));
        Assert.True(replay.ExitCode == 0, replay.ToString());
        Assert.Equal("1 events would be published again from outbox 'billing' (billing.outbox) (dry run: nothing was published)", replay.StandardOutput.Trim());
        output.WriteLine($"main: {mainRecords.Count} Json + 1 dead letter; billing: {billingRecords.Count} Avro (schema {version.Id}) + 1 dead letter in {billingDeadLetters}");
    }

    [Fact]
    public async Task Retention_deletes_only_from_the_outbox_that_has_it_and_a_lost_slot_publishes_again_the_rows_of_both_tables()
    {
        await using var scenario = await environment.CreateScenarioAsync("perboxkeep");
        await using (var connection = await scenario.OpenAsync())
        await using (var add = new NpgsqlCommand("CALL public.atlas_cdc_add_outbox('billing', 'outbox')", connection))
            await add.ExecuteNonQueryAsync();
        var billingTopic = scenario.TopicPrefix + ".billing.Invoice";
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Retention__Age"] = "00:00:01",
            ["Cdc__Retention__Interval"] = "00:00:00.500",
            ["Cdc__Outboxes__main__Table"] = "public.outbox",
            ["Cdc__Outboxes__billing__Table"] = "billing.outbox",
            ["Cdc__Outboxes__billing__TopicTemplate"] = scenario.TopicPrefix + ".billing.{aggregate_type}",
            ["Cdc__Outboxes__billing__Retention"] = "Disabled",
        };
        var relay = await scenario.StartReadyRelayAsync(settings);
        try
        {
            var main = await scenario.InsertAsync(RelayCoreTests.Rows("Account", 5));
            var billing = await MultipleOutboxTests.InsertBillingAsync(scenario, 5);
            await scenario.WaitForEventsAsync([scenario.Topic("Account")], main);
            await scenario.WaitForEventsAsync([billingTopic], billing);

            // main's delivered rows go; billing keeps all of its own.
            await Poll.UntilAsync("retention of outbox main", async () => await scenario.ScalarAsync<long>("SELECT count(*) FROM public.outbox") == 0,
                TimeSpan.FromSeconds(60), async () => $"{await scenario.ScalarAsync<long>("SELECT count(*) FROM public.outbox")} rows left in public.outbox");
            Assert.Equal(5, await scenario.ScalarAsync<long>("SELECT count(*) FROM billing.outbox"));
            var metrics = await relay.GetTextAsync("/metrics");
            Assert.Equal(5, RelayProbe.Metric(metrics, "atlas_cdc_outbox_rows_deleted_total{outbox=\"main\"}"));
            Assert.Equal(0, RelayProbe.Metric(metrics, "atlas_cdc_outbox_rows_deleted_total{outbox=\"billing\"}"));

            // Rows of both tables written while the relay is down and its slot is gone come back from the tables.
            await RecoveryProbe.WaitForHorizonAsync(scenario);
            await relay.KillAsync();
            var mainLater = await scenario.InsertAsync(RelayCoreTests.Rows("Account", 3));
            var billingLater = await MultipleOutboxTests.InsertBillingAsync(scenario, 3);
            await RecoveryProbe.DropSlotAsync(scenario);
            relay = await scenario.StartReadyRelayAsync(settings);

            var recovered = await scenario.WaitForEventsAsync([scenario.Topic("Account"), billingTopic], [.. mainLater, .. billingLater]);
            Assert.All(recovered.Where(r => mainLater.Concat(billingLater).Any(id => id.ToString() == r.Header("id"))),
                r => Assert.Equal("true", r.Header("atlas.snapshot")));
            metrics = await relay.GetTextAsync("/metrics");
            var republishedMain = RelayProbe.Metric(metrics, "atlas_cdc_events_republished_total{outbox=\"main\"}");
            var republishedBilling = RelayProbe.Metric(metrics, "atlas_cdc_events_republished_total{outbox=\"billing\"}");
            Assert.True(republishedMain >= 3 && republishedBilling >= 3,
                $"published again: main {republishedMain}, billing {republishedBilling}; each had 3 rows written while the slot was gone");
            output.WriteLine($"retention deleted 5 rows of main and none of billing; the recovery published again {republishedMain} of main and {republishedBilling} of billing");
        }
        finally
        {
            await relay.DisposeAsync();
        }
    }
}

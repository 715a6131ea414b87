using System.Diagnostics;
using System.Net;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Events Kafka refuses for good go to the dead-letter topic (or halt the relay, by policy), and awkward rows
/// never stop the stream.
/// </summary>
[Collection(CdcCollection.Name)]
public class PoisonEventTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Three_megabyte_event_goes_to_the_dead_letter_topic_with_its_id_while_later_events_keep_flowing()
    {
        await using var scenario = await environment.CreateScenarioAsync("toolarge");
        var topic = scenario.Topic("Document");
        await using var relay = await scenario.StartReadyRelayAsync();

        var before = await scenario.InsertAsync(RelayCoreTests.Rows("Document", 5));
        var payload = $$"""{"blob": "{{new string('x', 3 * 1024 * 1024)}}"}""";
        var big = await scenario.InsertAsync(new OutboxRow("Document", "document-big", "Uploaded", payload));
        var bigCommit = await scenario.CurrentWalLsnAsync();
        var after = await scenario.InsertAsync(RelayCoreTests.Rows("Document", 5));

        var records = await scenario.WaitForEventsAsync([topic], [.. before, .. after]);
        Assert.DoesNotContain(records, r => r.Header("id") == big[0].ToString());
        var dead = Assert.Single(await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], big));
        Assert.Equal(big[0].ToString(), dead.Header("id"));
        Assert.Equal("document-big", dead.Key);
        Assert.Equal(topic, dead.Header("atlas.dlq.original_topic"));
        Assert.Contains("MsgSizeTooLarge", dead.Header("atlas.dlq.reason"), StringComparison.Ordinal);
        var storedBytes = await scenario.ScalarAsync<int>($"SELECT octet_length(payload::text) FROM outbox WHERE id = '{big[0]}'");
        Assert.Equal(storedBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), dead.Header("atlas.dlq.payload_bytes"));
        Assert.Null(dead.Payload); // too large for the dead-letter topic as well: the headers say where to find it
        Assert.NotNull(dead.Header("atlas.commit_lsn"));

        var metrics = await relay.GetTextAsync("/metrics");
        Assert.Contains("atlas_cdc_events_dead_lettered_total{outbox=\"default\"} 1", metrics, StringComparison.Ordinal);
        var logLine = Assert.Single(relay.Output.Split('\n'), line => line.Contains(big[0].ToString(), StringComparison.Ordinal));
        Assert.Contains($"LSN {dead.Header("atlas.commit_lsn")}", logLine, StringComparison.Ordinal);
        await WaitForConfirmedAsync(scenario, bigCommit);
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
        output.WriteLine(logLine.Trim());
    }

    [Fact]
    public async Task Events_with_a_huge_key_event_type_or_aggregate_type_are_dead_lettered_without_stopping_the_stream()
    {
        await using var scenario = await environment.CreateScenarioAsync("hugefields");
        await using var relay = await scenario.StartReadyRelayAsync();
        var huge = new string('k', 1_500_000);

        var hugeKey = await scenario.InsertAsync(new OutboxRow("Shipment", huge, "Sent", """{"n": 1}"""));
        var hugeEventType = await scenario.InsertAsync(new OutboxRow("Shipment", "shipment-1", huge, """{"n": 2}"""));
        var hugeAggregateType = await scenario.InsertAsync(new OutboxRow(huge, "shipment-1", "Sent", """{"n": 3}"""));
        var after = await scenario.InsertAsync(RelayCoreTests.Rows("Shipment", 5));

        await scenario.WaitForEventsAsync([scenario.Topic("Shipment")], after);
        var dead = await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], [.. hugeKey, .. hugeEventType, .. hugeAggregateType]);
        Assert.Equal(3, dead.Count);
        Assert.All(dead, record => Assert.NotNull(record.Header("atlas.dlq.reason")));
        Assert.Equal("key", dead.Single(r => r.Header("id") == hugeKey[0].ToString()).Header("atlas.dlq.truncated"));
        Assert.Equal("event_type", dead.Single(r => r.Header("id") == hugeEventType[0].ToString()).Header("atlas.dlq.truncated"));
        Assert.Equal("aggregate_type,atlas.dlq.original_topic",
            dead.Single(r => r.Header("id") == hugeAggregateType[0].ToString()).Header("atlas.dlq.truncated"));
        Assert.Equal("""{"n": 2}""", dead.Single(r => r.Header("id") == hugeEventType[0].ToString()).Payload);
        Assert.All(relay.Output.Split('\n'), line => Assert.True(line.Length < 2000, $"a log line of {line.Length} characters"));
        Assert.False(relay.HasExited, relay.Output);
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
        foreach (var record in dead)
            output.WriteLine($"{record.Header("id")}: key {record.KeyBytes?.Length ?? 0} bytes, reason {record.Header("atlas.dlq.reason")?[..Math.Min(120, record.Header("atlas.dlq.reason")!.Length)]}");
    }

    [Fact]
    public async Task Event_whose_aggregate_type_makes_an_illegal_topic_is_dead_lettered_with_its_payload()
    {
        await using var scenario = await environment.CreateScenarioAsync("badtopic");
        await using var relay = await scenario.StartReadyRelayAsync();

        var bad = await scenario.InsertAsync(new OutboxRow("Order Refund/ü", "refund-1", "Refunded", """{"amount": 12}""", """{"traceparent": "t-1"}"""));
        var good = await scenario.InsertAsync(RelayCoreTests.Rows("Refund", 3));

        await scenario.WaitForEventsAsync([scenario.Topic("Refund")], good);
        var dead = Assert.Single(await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], bad));
        Assert.Equal(bad[0].ToString(), dead.Header("id"));
        Assert.Equal($"{scenario.TopicPrefix}.Order Refund/ü", dead.Header("atlas.dlq.original_topic"));
        Assert.Contains("Kafka allows only ASCII letters", dead.Header("atlas.dlq.reason"), StringComparison.Ordinal);
        Assert.Equal("""{"amount": 12}""", dead.Payload);
        Assert.Equal("Order Refund/ü", dead.Header("aggregate_type"));
        Assert.Equal("refund-1", dead.Key);
        Assert.Contains("atlas_cdc_events_dead_lettered_total{outbox=\"default\"} 1", await relay.GetTextAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Event_the_broker_refuses_for_good_is_dead_lettered_from_its_delivery_report_and_later_events_keep_their_order()
    {
        await using var scenario = await environment.CreateScenarioAsync("brokerrefuses");
        var topic = scenario.Topic("Claim");
        environment.Kafka.CreateTopic(topic, partitions: 1);
        await using var relay = await scenario.StartReadyRelayAsync();
        var before = await scenario.InsertAsync(RelayCoreTests.Rows("Claim", 5, keys: 1));
        await scenario.WaitForEventsAsync([topic], before);

        // The next Produce request is refused with MESSAGE_TOO_LARGE (10), as a broker with a smaller
        // max.message.bytes for the topic would: a permanent error that arrives in the delivery report. The broker
        // refuses a whole request, so this event travels alone (events sharing its request are refused with it;
        // docs/consuming.md, "Dead letters").
        environment.Kafka.PushRequestErrors(0, 10);
        var refused = await scenario.InsertAsync(new OutboxRow("Claim", "claim-0", "Filed", """{"n": "refused"}"""));
        var dead = Assert.Single(await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], refused));
        var after = await scenario.InsertAsync(RelayCoreTests.Rows("Claim", 5, keys: 1));

        List<Sandbox.KafkaRecord> records;
        try
        {
            records = await scenario.WaitForEventsAsync([topic], [.. before, .. after], TimeSpan.FromSeconds(30));
        }
        catch (Xunit.Sdk.XunitException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n{RelayProbe.Tail(relay.Output, 60)}");
        }
        Assert.Equal(topic, dead.Header("atlas.dlq.original_topic"));
        Assert.Equal("""{"n": "refused"}""", dead.Payload);
        Assert.Contains("MsgSizeTooLarge", dead.Header("atlas.dlq.reason"), StringComparison.Ordinal);
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, new Dictionary<string, List<Guid>> { ["claim-0"] = [.. before, .. after] });
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
    }

    [Fact]
    public async Task Events_sharing_a_produce_request_the_broker_refuses_are_all_dead_lettered_and_none_is_lost()
    {
        await using var scenario = await environment.CreateScenarioAsync("batchrefused");
        var topic = scenario.Topic("Claim");
        environment.Kafka.CreateTopic(topic, partitions: 1);
        // A long linger puts the 20 events of one transaction into one Produce request.
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__Kafka__Properties__linger.ms"] = "200" });
        var first = await scenario.InsertAsync(RelayCoreTests.Rows("Claim", 1, keys: 1));
        await scenario.WaitForEventsAsync([topic], first);

        environment.Kafka.PushRequestErrors(0, 10);
        var batch = await scenario.InsertAsync(RelayCoreTests.Rows("Claim", 20, keys: 1)); // one transaction, one request
        List<Sandbox.KafkaRecord> dead;
        try
        {
            dead = await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], batch, TimeSpan.FromSeconds(30));
        }
        catch (Xunit.Sdk.XunitException e)
        {
            var delivered = (await scenario.ReadTopicAsync(topic)).Select(r => r.Header("id")).ToHashSet();
            throw new Xunit.Sdk.XunitException($"{e.Message}; {batch.Count(id => delivered.Contains(id.ToString()))} of the batch were delivered instead\n{RelayProbe.Tail(relay.Output, 60)}");
        }
        var marker = await scenario.InsertAsync(new OutboxRow("Claim", "claim-0", "Marker", "{}"));
        var records = await scenario.WaitForEventsAsync([topic], [.. first, .. marker]);

        Assert.Equal(batch.Select(id => id.ToString()).Order(StringComparer.Ordinal), dead.Select(r => r.Header("id")!).Order(StringComparer.Ordinal));
        Assert.All(dead, r => Assert.Contains("MsgSizeTooLarge", r.Header("atlas.dlq.reason"), StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => batch.Contains(Guid.Parse(r.Header("id")!)));
        Assert.Contains($"atlas_cdc_events_dead_lettered_total{{outbox=\"default\"}} {batch.Count}", await relay.GetTextAsync("/metrics"), StringComparison.Ordinal);
        output.WriteLine($"all {batch.Count} events of the refused request were dead-lettered; the marker after them was delivered");
    }

    [Fact]
    public async Task Halt_policy_stops_the_relay_with_exit_code_3_without_confirming_the_refused_event()
    {
        await using var scenario = await environment.CreateScenarioAsync("halt");
        var topic = scenario.Topic("Invoice");
        var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__DeadLetter__Policy"] = "Halt" });
        var before = await scenario.InsertAsync(RelayCoreTests.Rows("Invoice", 5));
        await scenario.WaitForEventsAsync([topic], before);

        var poison = await scenario.InsertAsync(new OutboxRow("Invoice", "invoice-big", "Scanned",
            $$"""{"scan": "{{new string('y', 2 * 1024 * 1024)}}"}"""));
        var after = await scenario.InsertAsync(RelayCoreTests.Rows("Invoice", 5));
        var stopwatch = Stopwatch.StartNew();
        var exitCode = await relay.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, exitCode);
        var fatal = Assert.Single(relay.Output.Split('\n'), line => line.Contains("Fatal:", StringComparison.Ordinal));
        Assert.Contains(poison[0].ToString(), fatal, StringComparison.Ordinal);
        Assert.Contains("Cdc:DeadLetter:Policy is Halt", fatal, StringComparison.Ordinal);
        Assert.True(await scenario.SlotHoldsEventAsync(poison[0]),
            $"the refused event {poison[0]} must stay in slot {scenario.Slot}; confirmed_flush_lsn is {await scenario.ConfirmedLsnAsync()}");
        Assert.Empty(await scenario.ReadTopicAsync(scenario.DeadLetterTopic));
        output.WriteLine($"halted {stopwatch.Elapsed.TotalSeconds:F1} s after the insert: {fatal.Trim()}");

        // The team switches to dead-lettering: nothing was lost, the poison event is the first thing handled.
        await using var resumed = await scenario.StartReadyRelayAsync();
        await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], poison);
        await scenario.WaitForEventsAsync([topic], [.. before, .. after]);
    }

    [Fact]
    public async Task Dead_letter_that_cannot_be_written_either_stops_the_relay_with_exit_code_3_without_confirming_the_event()
    {
        await using var scenario = await environment.CreateScenarioAsync("dlqrefused");
        var topic = scenario.Topic("Invoice");
        environment.Kafka.CreateTopic(topic, partitions: 1);
        var relay = await scenario.StartReadyRelayAsync(); // Cdc:DeadLetter:Policy is DeadLetter (the default)
        await scenario.WaitForEventsAsync([topic], await scenario.InsertAsync(RelayCoreTests.Rows("Invoice", 1)));

        // The broker refuses the event for good, then refuses its dead letter too.
        environment.Kafka.PushRequestErrors(0, 10, 10);
        int exitCode;
        List<Guid> refused;
        try
        {
            refused = await scenario.InsertAsync(new OutboxRow("Invoice", "invoice-refused", "Scanned", """{"n": 1}"""));
            exitCode = await relay.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            environment.Kafka.ClearRequestErrors(0);
        }

        Assert.True(exitCode == 3, $"exit code {exitCode}, not 3:\n{RelayProbe.Tail(relay.Output)}");
        var fatal = Assert.Single(relay.Output.Split('\n'), line => line.Contains("Fatal:", StringComparison.Ordinal));
        Assert.Contains($"Event {refused[0]}", fatal, StringComparison.Ordinal);
        Assert.Contains($"could not be written to dead-letter topic '{scenario.DeadLetterTopic}' (Cdc:DeadLetter:Topic)", fatal, StringComparison.Ordinal);
        Assert.True(await scenario.SlotHoldsEventAsync(refused[0]),
            $"event {refused[0]}, neither delivered nor dead-lettered, must stay in slot {scenario.Slot}; confirmed_flush_lsn is {await scenario.ConfirmedLsnAsync()}");
        Assert.Empty(await scenario.ReadTopicAsync(scenario.DeadLetterTopic));
        output.WriteLine(fatal.Trim());

        // Nothing is lost: the next relay handles the event first.
        await using var resumed = await scenario.StartReadyRelayAsync();
        await scenario.WaitForEventsAsync([topic], refused);
    }

    [Fact]
    public async Task Halt_during_a_sigterm_drain_stops_at_once_with_exit_code_3_not_after_the_shutdown_timeout()
    {
        await using var scenario = await environment.CreateScenarioAsync("haltdrain");
        var topic = scenario.Topic("Invoice");
        environment.Kafka.CreateTopic(topic, partitions: 1);
        var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__DeadLetter__Policy"] = "Halt",
            ["Cdc__ShutdownTimeout"] = "00:00:30",
        });
        await scenario.WaitForEventsAsync([topic], await scenario.InsertAsync(RelayCoreTests.Rows("Invoice", 1)));

        // The broker refuses the next Produce request for good, and answers only after 3 s: the refusal, and so
        // the Halt, arrives while the relay drains after SIGTERM.
        List<Guid> poison;
        int exitCode;
        var stopwatch = new Stopwatch();
        for (var broker = 1; broker <= environment.Kafka.BrokerCount; broker++)
            environment.Kafka.SetRoundTripTime(broker, TimeSpan.FromSeconds(3));
        environment.Kafka.PushRequestErrors(0, 10);
        try
        {
            poison = await scenario.InsertAsync(new OutboxRow("Invoice", "invoice-refused", "Scanned", """{"n": 1}"""));
            var reading = Stopwatch.StartNew();
            while ((await RelayProbe.MetricAsync(relay, "atlas_cdc_events_in_flight") ?? 0) < 1)
            {
                Assert.True(reading.Elapsed < TimeSpan.FromSeconds(10), "the relay did not read the event within 10 s");
                await Task.Delay(20);
            }
            Assert.DoesNotContain("Fatal:", relay.Output, StringComparison.Ordinal); // the refusal has not arrived yet
            stopwatch.Start();
            exitCode = await relay.TerminateAsync(TimeSpan.FromSeconds(60));
            stopwatch.Stop();
        }
        finally
        {
            for (var broker = 1; broker <= environment.Kafka.BrokerCount; broker++)
                environment.Kafka.SetRoundTripTime(broker, TimeSpan.Zero);
            environment.Kafka.ClearRequestErrors(0);
        }

        output.WriteLine($"SIGTERM, then the Halt during the drain: exit code {exitCode} after {stopwatch.Elapsed.TotalSeconds:F1} s (Cdc:ShutdownTimeout 30 s)");
        Assert.True(exitCode == 3, $"exit code {exitCode}, not 3:\n{RelayProbe.Tail(relay.Output)}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"the relay took {stopwatch.Elapsed} to stop after the Halt");
        var fatal = Assert.Single(relay.Output.Split('\n'), line => line.Contains("Fatal:", StringComparison.Ordinal));
        Assert.Contains(poison[0].ToString(), fatal, StringComparison.Ordinal);
        Assert.True(await scenario.SlotHoldsEventAsync(poison[0]),
            $"the refused event {poison[0]} must stay in slot {scenario.Slot}; confirmed_flush_lsn is {await scenario.ConfirmedLsnAsync()}");
    }

    [Fact]
    public async Task Awkward_rows_never_stop_the_stream_and_are_carried_byte_for_byte()
    {
        await using var scenario = await environment.CreateScenarioAsync("awkward");
        var topic = scenario.Topic("Awkward");
        await using var relay = await scenario.StartReadyRelayAsync();

        OutboxRow Row(string key, string payload, string? headers = null) => new("Awkward", key, "Odd", payload, headers);
        var rows = new[]
        {
            Row("clé-🔑-键-ключ", """{"text": "naïve café ☃ 𝄞 שלום \u2028 end", "emoji": "👩‍👩‍👧"}"""),
            Row("k-string", "\"just a string ✓\""),
            Row("k-number", "12345678901234567890.123456789"),
            Row("k-array", """[1, "two", null, {"three": [3]}]"""),
            Row("k-null", "null"),
            Row("k-headers-array", "{}", """["a", 1, null]"""),
            Row("k-headers-string", "{}", "\"only a string\""),
            Row("k-headers-nested", "{}", """{"outer": {"inner": [1, {"deep": null}]}, "flag": true}"""),
            Row("k-headers-nulls", "{}", """{"empty": null, "unicode": "värde ✓"}"""),
            Row("k-headers-json-null", "{}", "null"),
            Row("k-headers-reserved", "{}", """{"id": "forged", "atlas.commit_lsn": "0/0", "ok": "kept"}"""),
        };
        var ids = await scenario.InsertAsync(rows);
        var trailer = await scenario.InsertAsync(RelayCoreTests.Rows("Awkward", 3));
        var records = await scenario.WaitForEventsAsync([topic], [.. ids, .. trailer]);

        await using var connection = await scenario.OpenAsync();
        for (var i = 0; i < rows.Length; i++)
        {
            var record = Assert.Single(records, r => r.Header("id") == ids[i].ToString());
            Assert.Equal(Encoding.UTF8.GetBytes(rows[i].AggregateId), record.KeyBytes);
            Assert.Equal(await StoredPayloadAsync(connection, ids[i]), record.PayloadBytes);
        }

        KafkaRecordFor("k-headers-array", "atlas.headers", """["a", 1, null]""");
        KafkaRecordFor("k-headers-string", "atlas.headers", "\"only a string\"");
        KafkaRecordFor("k-headers-nested", "outer", """{"inner": [1, {"deep": null}]}""");
        KafkaRecordFor("k-headers-nested", "flag", "true");
        KafkaRecordFor("k-headers-nulls", "empty", null);
        KafkaRecordFor("k-headers-nulls", "unicode", "värde ✓");
        KafkaRecordFor("k-headers-reserved", "id", ids[10].ToString());
        KafkaRecordFor("k-headers-reserved", "ok", "kept");
        Assert.DoesNotContain(records.Single(r => r.Key == "k-headers-json-null").Headers, h => h.Key == "atlas.headers");
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
        Assert.Contains("atlas_cdc_header_warnings_total{outbox=\"default\"} 3", await relay.GetTextAsync("/metrics"), StringComparison.Ordinal);
        Assert.Empty(await scenario.ReadTopicAsync(scenario.DeadLetterTopic));

        void KafkaRecordFor(string key, string header, string? expected)
        {
            var record = Assert.Single(records, r => r.Key == key);
            Assert.Contains(record.Headers, h => h.Key == header);
            Assert.Equal(expected, record.Header(header));
        }
    }

    private static async Task<byte[]> StoredPayloadAsync(NpgsqlConnection connection, Guid id)
    {
        await using var command = new NpgsqlCommand("SELECT convert_to(payload::text, 'UTF8') FROM outbox WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Uuid });
        return (byte[])(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitForConfirmedAsync(RelayScenario scenario, NpgsqlLogSequenceNumber lsn)
    {
        var stopwatch = Stopwatch.StartNew();
        while (await scenario.ConfirmedLsnAsync() < lsn)
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"the slot was not confirmed past {lsn} within 10 s");
            await Task.Delay(100);
        }
    }
}

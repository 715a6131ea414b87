using System.Net;
using Atlas.Cdc.Sandbox.SchemaRegistry;
using Confluent.SchemaRegistry;
using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Avro values through a schema registry (the sandbox's stand-in): every type of the mapping, decoded by two
/// independent decoders; a new schema version picked up while streaming; payloads that do not fit, and a subject
/// without a schema, dead-lettered with a reason naming subject, version and field path.
/// </summary>
[Collection(CdcCollection.Name)]
public class AvroFormatTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private const string Everything = """
        {"type": "record", "name": "Everything", "namespace": "com.acme", "fields": [
          {"name": "i", "type": "int"},
          {"name": "l", "type": "long"},
          {"name": "f", "type": "float"},
          {"name": "d", "type": "double"},
          {"name": "b", "type": "boolean"},
          {"name": "s", "type": "string"},
          {"name": "raw", "type": "bytes"},
          {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}},
          {"name": "tags", "type": {"type": "array", "items": "string"}},
          {"name": "counts", "type": {"type": "map", "values": "long"}},
          {"name": "note", "type": ["null", "string"], "default": null},
          {"name": "qty", "type": "int", "default": 1},
          {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
            {"name": "name", "type": "string"}, {"name": "vip", "type": "boolean", "default": false}]}},
          {"name": "day", "type": {"type": "int", "logicalType": "date"}},
          {"name": "at_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
          {"name": "at_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
          {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
          {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}}
        ]}
        """;

    [Fact]
    public async Task Every_type_of_the_mapping_arrives_as_avro_that_apache_avro_and_confluents_deserializer_both_decode()
    {
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("avrotypes");
        var topic = scenario.Topic("Everything");
        var version = registry.Register(topic + "-value", Everything);
        await using var relay = await scenario.StartReadyRelayAsync(SchemaSettings.For(registry));

        (string Payload, string Decoded)[] rows =
        [
            ("""
             {"i": -7, "l": 9007199254740993, "f": 1.5, "d": 12.25, "b": true, "s": "naïve ☃", "raw": "AAEC/w==", "color": "GREEN",
              "tags": ["a", "b"], "counts": {"x": 1, "y": 2}, "note": "hello", "qty": 3, "customer": {"name": "Ada", "vip": true},
              "day": "2026-11-22", "at_ms": "2026-11-22T05:03:00.123456+01:00", "at_us": "2026-11-22T05:03:00.123456Z",
              "price": 12.5, "ref": "7D3C5C4E-0F55-4A51-9D8A-1B2F7C3E9A10", "ignored": {"extra": true}}
             """,
             """{"i": -7, "l": 9007199254740993, "f": 1.5, "d": 12.25, "b": true, "s": "naïve ☃", "raw": "AAEC/w==", "color": "GREEN", "tags": ["a", "b"], "counts": {"x": 1, "y": 2}, "note": "hello", "qty": 3, "customer": {"name": "Ada", "vip": true}, "day": "2026-11-22T00:00:00.0000000Z", "at_ms": "2026-11-22T04:03:00.1230000Z", "at_us": "2026-11-22T05:03:00.1234560Z", "price": 12.50, "ref": "7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10"}"""),
            ("""
             {"i": 0, "l": -1, "f": 0, "d": -0.5, "b": false, "s": "", "raw": "", "color": "RED", "tags": [], "counts": {},
              "customer": {"name": "Bo"}, "day": 0, "at_ms": 0, "at_us": "1969-12-31T23:59:59.999999Z", "price": "-0.01",
              "ref": "00000000-0000-0000-0000-000000000001"}
             """,
             """{"i": 0, "l": -1, "f": 0, "d": -0.5, "b": false, "s": "", "raw": "", "color": "RED", "tags": [], "counts": {}, "note": null, "qty": 1, "customer": {"name": "Bo", "vip": false}, "day": "1970-01-01T00:00:00.0000000Z", "at_ms": "1970-01-01T00:00:00.0000000Z", "at_us": "1969-12-31T23:59:59.9999990Z", "price": -0.01, "ref": "00000000-0000-0000-0000-000000000001"}"""),
        ];
        var ids = new List<Guid>();
        foreach (var (payload, _) in rows)
            ids.AddRange(await scenario.InsertAsync(new OutboxRow("Everything", "thing-1", "Measured", payload, """{"traceparent": "t-1"}""")));

        var records = await scenario.WaitForEventsAsync([topic], ids);
        using var decoder = new AvroRecordDecoder(registry.Url);
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url });
        var confluent = SchemaSettings.ConfluentDeserializer(client);
        for (var i = 0; i < rows.Length; i++)
        {
            var record = Assert.Single(records, r => r.Header("id") == ids[i].ToString());
            var (schemaId, decoded) = await SchemaSettings.DecodeBothWaysAsync(decoder, confluent, record);
            Assert.Equal(version.Id, schemaId);
            Assert.Equal(rows[i].Decoded, decoded);
            Assert.Equal("thing-1", record.Key);
            Assert.Equal("Measured", record.Header("event_type"));
            Assert.Equal("t-1", record.Header("traceparent"));
            Assert.NotNull(record.Header("atlas.commit_lsn"));
            output.WriteLine($"{record.PayloadBytes!.Length} bytes of Avro: {decoded}");
        }
        Assert.Empty(await scenario.ReadTopicAsync(scenario.DeadLetterTopic));
        var metrics = await relay.GetTextAsync("/metrics");
        Assert.Equal(2, SchemaSettings.Metric(metrics, $"atlas_cdc_schema_lookups_total{{subject=\"{topic}-value\"}}"));
        Assert.True(SchemaSettings.Metric(metrics, $"atlas_cdc_schema_cache_misses_total{{subject=\"{topic}-value\"}}") >= 1);
    }

    [Fact]
    public async Task A_new_schema_version_registered_while_streaming_is_used_by_every_later_event()
    {
        const string V1 = """{"type": "record", "name": "Tick", "fields": [{"name": "w", "type": "int"}, {"name": "seq", "type": "long"}]}""";
        const string V2 = """{"type": "record", "name": "Tick", "fields": [{"name": "w", "type": "int"}, {"name": "seq", "type": "long"}, {"name": "source", "type": ["null", "string"], "default": null}]}""";
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("avroevolve");
        var topic = scenario.Topic("Tick");
        var v1 = registry.Register(topic + "-value", V1);
        await using var relay = await scenario.StartReadyRelayAsync(SchemaSettings.For(registry));
        await using var load = WriterLoad.Start(scenario, "Tick", writers: 2, ratePerWriter: 100);
        await load.WaitForMoreAsync(300);

        var v2 = registry.Register(topic + "-value", V2);
        using var decoder = new AvroRecordDecoder(registry.Url);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (!(await scenario.ReadTopicAsync(topic)).Any(r => AvroRecordDecoder.SchemaId(r.PayloadBytes!) == v2.Id))
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"no event carried v2's id {v2.Id} within 30 s:\n{RelayProbe.Tail(relay.Output)}");
            await Task.Delay(200);
        }
        output.WriteLine($"v2 (id {v2.Id}) in use {stopwatch.Elapsed.TotalSeconds:F1} s after it was registered (refresh interval 1 s)");
        await load.WaitForMoreAsync(200);
        var marker = await scenario.InsertAsync(new OutboxRow("Tick", "marker", "Written", """{"w": 9, "seq": 0, "source": "v2-writer"}"""));
        var delivery = await load.StopAndCheckDeliveryAsync(topic);
        var records = await scenario.WaitForEventsAsync([topic], marker);

        // In commit order (single-row transactions: the commit LSN orders them) the ids go v1 ... v1, v2 ... v2.
        var inCommitOrder = records.OrderBy(r => (ulong)NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(r.Header("atlas.commit_lsn")!)).ToList();
        var schemaIds = inCommitOrder.Select(r => AvroRecordDecoder.SchemaId(r.PayloadBytes!)).ToList();
        Assert.Equal(v1.Id, schemaIds[0]);
        Assert.Equal(v2.Id, schemaIds[^1]);
        var firstV2 = schemaIds.IndexOf(v2.Id);
        Assert.True(schemaIds.Skip(firstV2).All(id => id == v2.Id), "an event after the first v2 event carried v1's id");
        Assert.True(schemaIds.Take(firstV2).All(id => id == v1.Id));
        var (_, markerDatum) = await decoder.DecodeAsync(records.Single(r => r.Header("id") == marker[0].ToString()).PayloadBytes!);
        Assert.Equal("""{"w": 9, "seq": 0, "source": "v2-writer"}""", AvroRecordDecoder.Render(markerDatum));
        var (_, early) = await decoder.DecodeAsync(inCommitOrder[0].PayloadBytes!);
        Assert.DoesNotContain("source", AvroRecordDecoder.Render(early), StringComparison.Ordinal);
        output.WriteLine($"{delivery.Committed} events: {firstV2} with v1 (id {v1.Id}), {schemaIds.Count - firstV2} with v2 (id {v2.Id})");
    }

    private const string InvoiceSchema = """
        {"type": "record", "name": "Invoice", "namespace": "com.acme", "fields": [
          {"name": "customer", "type": "string"},
          {"name": "quantity", "type": "int"},
          {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
          {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}},
          {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [{"name": "price", "type": "double"}]}}}
        ]}
        """;

    private static string Invoice(string customer = "\"c-1\"", string quantity = "2", string status = "\"NEW\"", string total = "12.5",
        string items = """[{"price": 1}, {"price": 2}, {"price": 3.5}]""") =>
        $$"""{"customer": {{customer}}, "quantity": {{quantity}}, "status": {{status}}, "total": {{total}}, "items": {{items}}}""";

    [Fact]
    public async Task Payloads_that_do_not_fit_and_a_subject_without_a_schema_are_dead_lettered_with_subject_version_and_path()
    {
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("avrobad");
        var topic = scenario.Topic("Invoice");
        var subject = topic + "-value";
        var version = registry.Register(subject, InvoiceSchema);
        await using var relay = await scenario.StartReadyRelayAsync(SchemaSettings.For(registry));

        var before = await scenario.InsertAsync(new OutboxRow("Invoice", "inv-1", "Issued", Invoice()));
        (string Payload, string Reason)[] bad =
        [
            (Invoice(items: """[{"price": 1}, {"price": 2}, {"price": "12,5"}]"""), "$.items[2].price: expected double, got \"12,5\""),
            ("""{"quantity": 2, "status": "NEW", "total": 1, "items": []}""", "$.customer: missing required field of type string"),
            (Invoice(customer: "42"), "$.customer: expected string, got 42"),
            (Invoice(status: "\"SHIPPED\""), "$.status: unknown symbol \"SHIPPED\" of enum com.acme.Status (symbols: NEW, PAID)"),
            (Invoice(quantity: "3000000000"), "$.quantity: number 3000000000 is out of range for int"),
            (Invoice(total: "12.345"), "$.total: 12.345 has more decimal places than decimal(6,2) keeps (2)"),
        ];
        var badIds = await scenario.InsertAsync([.. bad.Select(b => new OutboxRow("Invoice", "inv-1", "Issued", b.Payload))]);
        var noSchema = await scenario.InsertAsync(new OutboxRow("Refund", "ref-1", "Refunded", """{"amount": 1}"""));
        var after = await scenario.InsertAsync(new OutboxRow("Invoice", "inv-1", "Paid", Invoice(status: "\"PAID\"")));

        var delivered = await scenario.WaitForEventsAsync([topic], [.. before, .. after]);
        var dead = await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], [.. badIds, .. noSchema]);
        Assert.Equal(2, delivered.Count);
        Assert.Equal(badIds.Count + 1, dead.Count);
        for (var i = 0; i < bad.Length; i++)
        {
            var letter = dead.Single(r => r.Header("id") == badIds[i].ToString());
            var reason = letter.Header("atlas.dlq.reason")!;
            output.WriteLine(reason);
            Assert.StartsWith($"the payload does not fit the Avro schema of subject '{subject}' version {version.Version} (schema id {version.Id}): ", reason, StringComparison.Ordinal);
            Assert.Contains(bad[i].Reason, reason, StringComparison.Ordinal);
            Assert.Equal(topic, letter.Header("atlas.dlq.original_topic"));
            Assert.Equal(await StoredPayloadAsync(scenario, badIds[i]), letter.Payload); // the JSON, as written, to fix and resend
        }
        var missing = dead.Single(r => r.Header("id") == noSchema[0].ToString()).Header("atlas.dlq.reason")!;
        output.WriteLine(missing);
        Assert.StartsWith($"subject '{scenario.Topic("Refund")}-value' has no schema in the registry", missing, StringComparison.Ordinal);

        using var decoder = new AvroRecordDecoder(registry.Url);
        var (_, paid) = await decoder.DecodeAsync(delivered.Single(r => r.Header("id") == after[0].ToString()).PayloadBytes!);
        Assert.Contains("\"status\": \"PAID\"", AvroRecordDecoder.Render(paid), StringComparison.Ordinal);
        var metrics = await relay.GetTextAsync("/metrics");
        Assert.Equal(bad.Length, SchemaSettings.Metric(metrics, $"atlas_cdc_value_conversion_failures_total{{subject=\"{subject}\"}}"));
        Assert.Equal(1, SchemaSettings.Metric(metrics, $"atlas_cdc_value_conversion_failures_total{{subject=\"{scenario.Topic("Refund")}-value\"}}"));
        Assert.Equal(bad.Length + 1, SchemaSettings.Metric(metrics, "atlas_cdc_events_dead_lettered_total{outbox=\"default\"}"));
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
    }

    [Fact]
    public async Task With_the_halt_policy_a_payload_that_does_not_fit_stops_the_relay_with_exit_code_3_and_the_reason()
    {
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("avrohalt");
        registry.Register(scenario.Topic("Invoice") + "-value", InvoiceSchema);
        var relay = await scenario.StartReadyRelayAsync(SchemaSettings.For(registry, extra: new Dictionary<string, string> { ["Cdc__DeadLetter__Policy"] = "Halt" }));
        var poison = await scenario.InsertAsync(new OutboxRow("Invoice", "inv-9", "Issued", Invoice(status: "\"LOST\"")));

        Assert.Equal(3, await relay.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var fatal = Assert.Single(relay.Output.Split('\n'), line => line.Contains("Fatal:", StringComparison.Ordinal));
        Assert.Contains(poison[0].ToString(), fatal, StringComparison.Ordinal);
        Assert.Contains("$.status: unknown symbol \"LOST\"", fatal, StringComparison.Ordinal);
        Assert.Empty(await scenario.ReadTopicAsync(scenario.DeadLetterTopic));
    }

    private static async Task<string> StoredPayloadAsync(RelayScenario scenario, Guid id)
    {
        await using var connection = await scenario.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT payload::text FROM outbox WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (string)(await command.ExecuteScalarAsync())!;
    }
}

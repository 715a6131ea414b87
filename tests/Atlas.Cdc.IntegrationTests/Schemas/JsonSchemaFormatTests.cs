using Atlas.Cdc.Sandbox.SchemaRegistry;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Newtonsoft.Json.Linq;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>JsonSchema: payloads validated against the subject's JSON Schema, written in Confluent's JSON wire format.</summary>
[Collection(CdcCollection.Name)]
public class JsonSchemaFormatTests(CdcEnvironment environment)
{
    private const string OrderSchema = """
        {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
         "required": ["customer", "items"],
         "properties": {"customer": {"type": "string"},
                        "items": {"type": "array", "items": {"type": "object", "properties": {"price": {"type": "number"}}}}}}
        """;

    [Fact]
    public async Task Valid_payloads_arrive_in_confluents_json_wire_format_and_invalid_ones_are_dead_lettered_with_the_path()
    {
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("jsonschema");
        var topic = scenario.Topic("Order");
        var version = registry.Register(topic + "-value", OrderSchema, "JSON");
        await using var relay = await scenario.StartReadyRelayAsync(SchemaSettings.For(registry, "JsonSchema"));

        var good = await scenario.InsertAsync(new OutboxRow("Order", "o-1", "Placed", """{"customer": "c-1", "items": [{"price": 2.5}]}"""));
        var bad = await scenario.InsertAsync(new OutboxRow("Order", "o-1", "Placed", """{"customer": "c-1", "items": [{"price": 1}, {"price": "12,5"}]}"""));

        var record = Assert.Single(await scenario.WaitForEventsAsync([topic], good));
        Assert.Equal(version.Id, AvroRecordDecoder.SchemaId(record.PayloadBytes!)); // magic byte 0 and the id, as for Avro
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url });
        var deserializer = new JsonDeserializer<JObject>(client);
        var order = await deserializer.DeserializeAsync(record.PayloadBytes, isNull: false, new SerializationContext(MessageComponentType.Value, topic));
        Assert.Equal("c-1", (string?)order["customer"]);
        Assert.Equal(2.5, (double?)order["items"]![0]!["price"]);

        var dead = Assert.Single(await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], bad));
        Assert.Equal($"the payload does not fit the JSON Schema of subject '{topic}-value' version 1 (schema id {version.Id}): $.items[1].price: number expected",
            dead.Header("atlas.dlq.reason"));
    }
}

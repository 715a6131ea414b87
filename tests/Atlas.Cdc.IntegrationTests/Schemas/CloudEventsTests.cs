using System.Text.Json;
using Atlas.Cdc.Sandbox.SchemaRegistry;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>CloudEvents over the Kafka protocol binding: binary mode (with Avro values) and structured mode (JSON envelope).</summary>
[Collection(CdcCollection.Name)]
public class CloudEventsTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Binary_mode_carries_the_attributes_in_ce_headers_beside_an_avro_value()
    {
        await using var registry = await SchemaRegistryStandIn.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("cebinary");
        var topic = scenario.Topic("Order");
        registry.Register(topic + "-value", """{"type": "record", "name": "Order", "fields": [{"name": "total", "type": "double"}]}""");
        await using var relay = await scenario.StartReadyRelayAsync(SchemaSettings.For(registry, extra: new Dictionary<string, string>
        {
            ["Cdc__CloudEvents__Mode"] = "Binary",
        }));
        var ids = await scenario.InsertAsync(new OutboxRow("Order", "order-7", "OrderPlaced", """{"total": 9.5}"""));

        var record = Assert.Single(await scenario.WaitForEventsAsync([topic], ids));
        Assert.Equal("1.0", record.Header("ce_specversion"));
        Assert.Equal(ids[0].ToString(), record.Header("ce_id"));
        Assert.Equal($"/atlas-cdc/{scenario.Database}/public.outbox", record.Header("ce_source"));
        Assert.Equal("OrderPlaced", record.Header("ce_type"));
        Assert.Equal("order-7", record.Header("ce_subject"));
        Assert.Equal(record.Header("atlas.commit_time"), record.Header("ce_time"));
        Assert.Equal("application/avro", record.Header("content-type"));
        using var decoder = new AvroRecordDecoder(registry.Url);
        Assert.Equal("""{"total": 9.5}""", AvroRecordDecoder.Render((await decoder.DecodeAsync(record.PayloadBytes!)).Datum));
    }

    [Fact]
    public async Task Structured_mode_wraps_the_json_payload_in_the_cloudevents_envelope()
    {
        await using var scenario = await environment.CreateScenarioAsync("cestructured");
        var topic = scenario.Topic("Order");
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__CloudEvents__Mode"] = "Structured",
            ["Cdc__CloudEvents__Source"] = "https://shop.example/orders",
        });
        var ids = await scenario.InsertAsync(new OutboxRow("Order", "order-8", "OrderPlaced", """{"total": 9.5, "lines": [1, 2]}"""));

        var record = Assert.Single(await scenario.WaitForEventsAsync([topic], ids));
        Assert.Equal("application/cloudevents+json", record.Header("content-type"));
        using var envelope = JsonDocument.Parse(record.Payload!);
        var root = envelope.RootElement;
        Assert.Equal("1.0", root.GetProperty("specversion").GetString());
        Assert.Equal(ids[0].ToString(), root.GetProperty("id").GetString());
        Assert.Equal("https://shop.example/orders", root.GetProperty("source").GetString());
        Assert.Equal("OrderPlaced", root.GetProperty("type").GetString());
        Assert.Equal("order-8", root.GetProperty("subject").GetString());
        Assert.Equal(record.Header("atlas.commit_time"), root.GetProperty("time").GetString());
        Assert.Equal("application/json", root.GetProperty("datacontenttype").GetString());
        Assert.Equal("""{"lines": [1, 2], "total": 9.5}""", root.GetProperty("data").GetRawText()); // as jsonb renders it
        Assert.Equal("order-8", record.Key);
        Assert.Equal(ids[0].ToString(), record.Header("id"));
    }
}

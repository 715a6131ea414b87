using System.Text;
using System.Text.Json;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Schemas.CloudEvents;
using Confluent.Kafka;

namespace Atlas.Cdc.UnitTests;

public class CloudEventsWriterTests
{
    private static readonly OutboxEvent s_event = new()
    {
        Id = "7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10"u8.ToArray(),
        AggregateType = "Order",
        AggregateId = "order-\"42\""u8.ToArray(),
        EventType = "OrderPlaced"u8.ToArray(),
        Payload = """{"total": 10, "items": [1, 2]}"""u8.ToArray(),
    };

    private static readonly TrackedTransaction s_transaction =
        new AcknowledgementTracker(10, 1000).Begin(1, new DateTimeOffset(2026, 11, 22, 5, 3, 0, 123, 456, TimeSpan.Zero));

    private static Message<byte[]?, byte[]?> Message() => new() { Key = s_event.AggregateId, Value = s_event.Payload, Headers = [] };

    private static string? Header(Message<byte[]?, byte[]?> message, string name) =>
        message.Headers.TryGetLastBytes(name, out var value) ? Encoding.UTF8.GetString(value!) : null;

    [Fact]
    public void Binary_mode_adds_the_attributes_as_ce_headers_and_keeps_the_value()
    {
        var message = Message();
        new CloudEventsWriter(CloudEventsMode.Binary, "/atlas-cdc/app/public.outbox", "app").Apply(message, s_event, s_transaction, "application/avro");
        Assert.Equal("1.0", Header(message, "ce_specversion"));
        Assert.Equal("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10", Header(message, "ce_id"));
        Assert.Equal("/atlas-cdc/app/public.outbox", Header(message, "ce_source"));
        Assert.Equal("OrderPlaced", Header(message, "ce_type"));
        Assert.Equal("order-\"42\"", Header(message, "ce_subject"));
        Assert.Equal("2026-11-22T05:03:00.123456Z", Header(message, "ce_time"));
        Assert.Equal("application/avro", Header(message, "content-type"));
        Assert.Same(s_event.Payload, message.Value);
    }

    [Fact]
    public void Structured_mode_wraps_the_payload_as_data_in_the_json_envelope()
    {
        var message = Message();
        new CloudEventsWriter(CloudEventsMode.Structured, "/src", "app").Apply(message, s_event, s_transaction, "application/json");
        using var envelope = JsonDocument.Parse(message.Value);
        var root = envelope.RootElement;
        Assert.Equal("1.0", root.GetProperty("specversion").GetString());
        Assert.Equal("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10", root.GetProperty("id").GetString());
        Assert.Equal("/src", root.GetProperty("source").GetString());
        Assert.Equal("OrderPlaced", root.GetProperty("type").GetString());
        Assert.Equal("order-\"42\"", root.GetProperty("subject").GetString());
        Assert.Equal("2026-11-22T05:03:00.123456Z", root.GetProperty("time").GetString());
        Assert.Equal("application/json", root.GetProperty("datacontenttype").GetString());
        Assert.Equal("""{"total": 10, "items": [1, 2]}""", root.GetProperty("data").GetRawText());
        Assert.Equal("application/cloudevents+json", Header(message, "content-type"));
    }

    [Fact]
    public void Default_source_names_the_database_and_the_event_s_outbox_table()
    {
        var outboxes = OutboxCatalog.From(new CdcOptions
        {
            Outboxes =
            {
                ["billing"] = new OutboxOptions { Table = "billing.outbox" },
                ["sales"] = new OutboxOptions { Table = "sales.outbox" },
            },
        });
        var writer = new CloudEventsWriter(CloudEventsMode.Binary, "", "app");
        foreach (var outbox in outboxes.All)
        {
            var message = Message();
            var outboxEvent = new OutboxEvent
            {
                Id = s_event.Id, AggregateType = s_event.AggregateType, AggregateId = s_event.AggregateId,
                EventType = s_event.EventType, Payload = s_event.Payload, Outbox = outbox,
            };
            writer.Apply(message, outboxEvent, s_transaction, "application/json");
            Assert.Equal($"/atlas-cdc/app/{outbox.Table}", Header(message, "ce_source"));
        }
        Assert.Equal("app", CloudEventsWriter.DatabaseOf(new CdcOptions { Postgres = { ConnectionString = "Host=db;Database=app;Username=u" } }));
    }
}

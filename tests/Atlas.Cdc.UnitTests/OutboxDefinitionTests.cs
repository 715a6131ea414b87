using System.Text;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Reading;
using Atlas.Cdc.Reading.PgOutput;
using Microsoft.Extensions.Configuration;

namespace Atlas.Cdc.UnitTests;

public class OutboxDefinitionTests
{
    private static CdcOptions Valid(Action<CdcOptions> change)
    {
        var options = new CdcOptions
        {
            Postgres = { ConnectionString = "Host=db;Database=app;Username=relay" },
            Kafka = { BootstrapServers = "kafka:9092" },
        };
        change(options);
        return options;
    }

    [Fact]
    public void Without_a_list_the_one_table_settings_describe_the_default_outbox()
    {
        var outbox = Assert.Single(OutboxDefinition.From(Valid(o => (o.Table, o.TopicTemplate) = ("app.events", "cdc.{aggregate_type}"))));
        Assert.Equal(("default", "app.events", "cdc.{aggregate_type}"), (outbox.Name, outbox.Table.ToString(), outbox.TopicTemplate));
        Assert.Equal(("id", "aggregate_type", "aggregate_id", "event_type", "payload", "headers", "created_at"),
            (outbox.IdColumn, outbox.AggregateTypeColumn, outbox.AggregateIdColumn, outbox.EventTypeColumn, outbox.PayloadColumn, outbox.HeadersColumn, outbox.CreatedAtColumn));
        Assert.Equal("Cdc:Table", outbox.TableSetting);
        Assert.True(outbox.RetentionEnabled);
    }

    [Fact]
    public void The_debezium_preset_gives_debezium_s_column_names_and_routing_and_leaves_retention_off()
    {
        var outbox = Assert.Single(OutboxDefinition.From(Valid(o => o.Outboxes["orders"] = new OutboxOptions
        {
            Table = "public.outboxevent", Preset = OutboxPreset.Debezium,
        })));
        Assert.Equal(("id", "aggregatetype", "aggregateid", "type", "payload"),
            (outbox.IdColumn, outbox.AggregateTypeColumn, outbox.AggregateIdColumn, outbox.EventTypeColumn, outbox.PayloadColumn));
        Assert.Null(outbox.HeadersColumn);
        Assert.Null(outbox.CreatedAtColumn);
        Assert.Equal("outbox.event.{aggregate_type}", outbox.TopicTemplate);
        Assert.False(outbox.RetentionEnabled);
        Assert.Equal("Cdc:Outboxes:orders:Table", outbox.TableSetting);
    }

    [Fact]
    public void Columns_and_headers_named_in_settings_win_over_the_preset()
    {
        var outbox = Assert.Single(OutboxDefinition.From(Valid(o => o.Outboxes["orders"] = new OutboxOptions
        {
            Table = "public.outboxevent",
            Preset = OutboxPreset.Debezium,
            Columns = { AggregateId = "order_id", CreatedAt = "ts" },
            AdditionalHeaders = { ["tenant"] = "tenant_id", ["region"] = "region" },
            Retention = OutboxRetentionMode.Enabled,
        })));
        Assert.Equal(("order_id", "ts"), (outbox.AggregateIdColumn, outbox.CreatedAtColumn));
        Assert.Equal([("region", "region"), ("tenant", "tenant_id")], outbox.AdditionalHeaders);
        Assert.True(outbox.RetentionEnabled);
        Assert.Contains("CreatedAt", outbox.NamedRoles);
    }

    [Fact]
    public void The_same_table_twice_a_bad_name_and_a_reserved_header_are_each_named()
    {
        var errors = RelaySettings.Validate(Valid(o =>
        {
            o.Outboxes["a"] = new OutboxOptions { Table = "sales.outbox" };
            o.Outboxes["b"] = new OutboxOptions { Table = "sales.outbox" };
            o.Outboxes["c d"] = new OutboxOptions { Table = "x.y.z" };
            o.Outboxes["e"] = new OutboxOptions { Table = "e.outbox", AdditionalHeaders = { ["tenant"] = "atlas.tenant" }, TopicTemplate = "{nope}" };
        }));
        Assert.Contains(errors, e => e.Contains("Cdc:Outboxes:b:Table and Cdc:Outboxes:a:Table both name sales.outbox", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("the outbox name 'c d'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Cdc:Outboxes:c d:Table", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Cdc__Outboxes__e__AdditionalHeaders__tenant", StringComparison.Ordinal) && e.Contains("atlas.tenant", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Cdc:Outboxes:e:TopicTemplate", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Preset", "Debezum", "Cdc:Outboxes:orders:Preset (env Cdc__Outboxes__orders__Preset) 'Debezum' is not one of Atlas, Debezium")]
    [InlineData("ValueFormat", "Protobuf", "Cdc:Outboxes:orders:ValueFormat (env Cdc__Outboxes__orders__ValueFormat) 'Protobuf' is not one of Json, Avro, JsonSchema")]
    public void An_outbox_setting_value_that_does_not_exist_is_named_with_its_environment_variable(string setting, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cdc:Outboxes:orders:Table"] = "public.outboxevent",
            [$"Cdc:Outboxes:orders:{setting}"] = value,
        }).Build();
        var error = Assert.Single(CdcOptionsBinder.Bind(configuration, out _));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Value_format_subject_and_dead_letter_topic_are_each_outbox_s_own_or_else_the_relay_wide_settings()
    {
        var outboxes = OutboxDefinition.From(Valid(o =>
        {
            o.Value.Format = ValueFormat.JsonSchema;
            o.SchemaRegistry.Subject = "{aggregate_type}-value";
            o.DeadLetter.Topic = "shared.dlq";
            o.Outboxes["billing"] = new OutboxOptions { Table = "billing.outbox", ValueFormat = ValueFormat.Avro, Subject = "billing.{event_type}", DeadLetterTopic = "billing.dlq" };
            o.Outboxes["sales"] = new OutboxOptions { Table = "sales.outbox" };
        }));
        var (billing, sales) = (outboxes[0], outboxes[1]);
        Assert.Equal((ValueFormat.Avro, "billing.{event_type}", "billing.dlq", "Cdc:Outboxes:billing:DeadLetterTopic"),
            (billing.ValueFormat, billing.SubjectTemplate, billing.DeadLetterTopic, billing.DeadLetterTopicSetting));
        Assert.Equal((ValueFormat.JsonSchema, "{aggregate_type}-value", "shared.dlq", "Cdc:DeadLetter:Topic"),
            (sales.ValueFormat, sales.SubjectTemplate, sales.DeadLetterTopic, sales.DeadLetterTopicSetting));
    }

    [Fact]
    public void An_outbox_s_value_format_subject_and_dead_letter_topic_are_checked_and_named()
    {
        var errors = RelaySettings.Validate(Valid(o =>
        {
            o.CloudEvents.Mode = CloudEventsMode.Structured;
            o.Outboxes["billing"] = new OutboxOptions { Table = "billing.outbox", ValueFormat = ValueFormat.Avro, Subject = "{tenant}-value", DeadLetterTopic = "bad topic" };
            o.Outboxes["sales"] = new OutboxOptions { Table = "sales.outbox" };
        }));
        Assert.Contains(errors, e => e.StartsWith("Cdc:SchemaRegistry:Url (env Cdc__SchemaRegistry__Url) is required when Cdc:Outboxes:billing:ValueFormat is Avro", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Cdc:Outboxes:billing:Subject (env Cdc__Outboxes__billing__Subject) '{tenant}-value' has an unknown placeholder", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Cdc:Outboxes:billing:DeadLetterTopic (env Cdc__Outboxes__billing__DeadLetterTopic):", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Cdc:CloudEvents:Mode", StringComparison.Ordinal) && e.Contains("Cdc:Outboxes:billing:ValueFormat is Avro", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("sales", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("outbox.event.{aggregate_type}", "outbox.event.{aggregate_type}", true)]
    [InlineData("sales.{aggregate_type}", "billing.{aggregate_type}", false)]
    [InlineData("{aggregate_type}", "billing.orders", true)]
    [InlineData("sales.orders", "sales.invoices", false)]
    [InlineData("cdc.{aggregate_type}.v1", "cdc.orders.{event_type}", true)]
    [InlineData("cdc.{aggregate_type}.v1", "cdc.{aggregate_type}.v2", false)]
    public void Topic_templates_meet_when_some_values_give_both_the_same_topic(string a, string b, bool meet)
    {
        var outboxes = OutboxDefinition.From(Valid(o =>
        {
            o.Outboxes["a"] = new OutboxOptions { Table = "a.outbox", TopicTemplate = a };
            o.Outboxes["b"] = new OutboxOptions { Table = "b.outbox", TopicTemplate = b };
        }));
        Assert.Equal(meet, outboxes[0].MayShareTopicWith(outboxes[1]));
        Assert.Equal(meet, outboxes[1].MayShareTopicWith(outboxes[0]));
    }

    [Theory]
    [InlineData("\\x", new byte[0])]
    [InlineData("\\x00ff7F", new byte[] { 0, 255, 127 })]
    public void Bytea_hex_output_decodes_to_the_bytes_stored(string text, byte[] expected) =>
        Assert.Equal(expected, ByteaText.Decode(Encoding.ASCII.GetBytes(text)));

    [Theory]
    [InlineData("")]
    [InlineData("00ff")]
    [InlineData("\\x0")]
    [InlineData("\\xzz")]
    [InlineData("\\001")]
    public void Anything_but_bytea_hex_output_is_refused(string text) =>
        Assert.Null(ByteaText.Decode(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void A_bytea_payload_and_additional_header_columns_reach_the_message_as_stored()
    {
        var outboxes = OutboxCatalog.From(Valid(o => o.Outboxes["orders"] = new OutboxOptions
        {
            Table = "public.outboxevent", Preset = OutboxPreset.Debezium, AdditionalHeaders = { ["tenant"] = "tenant_id" },
        }));
        var outbox = outboxes.All[0];
        string[] columns = ["id", "aggregatetype", "aggregateid", "type", "payload", "tenant"];
        uint[] types = [2950, 1043, 1043, 1043, OutboxColumnMap.ByteaTypeOid, 25];
        var map = OutboxColumnMap.Create(columns, types, outbox);
        var insert = new List<byte> { (byte)'I', 0, 0, 0x40, 0x01, (byte)'N', 0, (byte)columns.Length };
        foreach (var value in new[] { "0195f0e4-7b6a-7c3e-9d2f-0a1b2c3d4e5f", "Order", "42", "OrderPlaced", "\\x00ff10", "acme" })
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            insert.Add((byte)'t');
            insert.AddRange(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(bytes.Length)));
            insert.AddRange(bytes);
        }
        var reader = new PgOutputReader(insert.ToArray(), 0x16B3748);
        PgOutputMessages.ReadInsertHeader(ref reader);
        var outboxEvent = OutboxRowDecoder.Decode(ref reader, map);

        Assert.Equal(new byte[] { 0, 255, 16 }, outboxEvent.Payload);
        Assert.Same(outbox, outboxEvent.Outbox);
        var factory = new KafkaMessageFactory([new TopicNamer(outbox.TopicTemplate)]);
        var transaction = new AcknowledgementTracker(10, 1000).Begin(0x16B3748, DateTimeOffset.UnixEpoch);
        var message = factory.Create(outboxEvent, transaction, out _);
        Assert.Equal("outbox.event.Order", factory.TopicFor(outboxEvent).Name);
        Assert.Equal("42", Encoding.UTF8.GetString(message.Key!));
        Assert.Equal(new byte[] { 0, 255, 16 }, message.Value);
        Assert.True(message.Headers.TryGetLastBytes("tenant_id", out var tenant));
        Assert.Equal("acme", Encoding.UTF8.GetString(tenant));
        Assert.True(message.Headers.TryGetLastBytes("id", out var id));
        Assert.Equal("0195f0e4-7b6a-7c3e-9d2f-0a1b2c3d4e5f", Encoding.UTF8.GetString(id));
    }
}

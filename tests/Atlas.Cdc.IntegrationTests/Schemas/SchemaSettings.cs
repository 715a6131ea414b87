using System.Text.RegularExpressions;
using Atlas.Cdc.Sandbox;
using Atlas.Cdc.Sandbox.SchemaRegistry;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Relay settings and independent checks for the schema formats' tests.</summary>
internal static partial class SchemaSettings
{
    /// <summary>Avro (or JsonSchema) through the stand-in, refreshed every second so tests see new versions quickly.</summary>
    public static Dictionary<string, string> For(SchemaRegistryStandIn registry, string format = "Avro", IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Value__Format"] = format,
            ["Cdc__SchemaRegistry__Url"] = registry.Url,
            ["Cdc__SchemaRegistry__RefreshInterval"] = "00:00:01",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            settings[key] = value;
        return settings;
    }

    /// <summary>
    /// Decodes a record twice, independently of the relay: Apache.Avro's GenericDatumReader with the writer schema
    /// fetched by id (<see cref="AvroRecordDecoder"/>), and Confluent's AvroDeserializer. Both must agree.
    /// </summary>
    public static async Task<(int SchemaId, string Text)> DecodeBothWaysAsync(AvroRecordDecoder decoder, AvroDeserializer<GenericRecord> confluent, KafkaRecord record)
    {
        var bytes = record.PayloadBytes ?? throw new Xunit.Sdk.XunitException($"record {record.Header("id")} has a null value");
        var (id, datum) = await decoder.DecodeAsync(bytes);
        var text = AvroRecordDecoder.Render(datum);
        var viaConfluent = await confluent.DeserializeAsync(bytes, isNull: false, new SerializationContext(MessageComponentType.Value, record.Topic));
        Assert.Equal(text, AvroRecordDecoder.Render(viaConfluent));
        return (id, text);
    }

    public static AvroDeserializer<GenericRecord> ConfluentDeserializer(ISchemaRegistryClient client) => new(client);

    /// <summary>A metric's value from a /metrics text, 0 when the series is absent.</summary>
    public static double Metric(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }
}

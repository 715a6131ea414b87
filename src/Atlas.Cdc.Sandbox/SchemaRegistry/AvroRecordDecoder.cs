using System.Buffers.Binary;
using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Avro;
using Avro.Generic;
using Avro.IO;
using Confluent.SchemaRegistry;

namespace Atlas.Cdc.Sandbox.SchemaRegistry;

/// <summary>
/// Reads Confluent wire-format Avro values the way any consumer would, independently of the relay's converter:
/// the schema id from the header, the writer schema fetched by that id from the registry, Apache.Avro's
/// GenericDatumReader for the body. <see cref="Render"/> shows the result as one line of JSON-like text.
/// </summary>
public sealed class AvroRecordDecoder : IDisposable
{
    private static readonly JsonSerializerOptions s_readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CachedSchemaRegistryClient _client;
    private readonly ConcurrentDictionary<int, Avro.Schema> _schemas = new();

    /// <summary>A decoder reading schemas from the registry at <paramref name="registryUrl"/>.</summary>
    /// <param name="registryUrl">Registry base URL.</param>
    public AvroRecordDecoder(string registryUrl)
    {
        _client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registryUrl });
    }

    /// <summary>The schema id in a wire-format value (after the magic byte 0).</summary>
    /// <param name="value">The Kafka message value.</param>
    /// <returns>The id.</returns>
    /// <exception cref="InvalidDataException">Not Confluent's wire format.</exception>
    public static int SchemaId(byte[] value)
    {
        if (value.Length < 5 || value[0] != 0)
            throw new InvalidDataException($"not Confluent's wire format: {value.Length} bytes, first byte {(value.Length > 0 ? value[0] : -1)}");
        return BinaryPrimitives.ReadInt32BigEndian(value.AsSpan(1));
    }

    /// <summary>Decodes a wire-format value with its writer schema.</summary>
    /// <param name="value">The Kafka message value.</param>
    /// <returns>The schema id and the decoded datum (GenericRecord, primitive, list...).</returns>
    public async Task<(int SchemaId, object? Datum)> DecodeAsync(byte[] value)
    {
        var id = SchemaId(value);
        if (!_schemas.TryGetValue(id, out var schema))
        {
            var registered = await _client.GetSchemaAsync(id);
            schema = _schemas.GetOrAdd(id, Avro.Schema.Parse(registered.SchemaString));
        }
        var reader = new GenericDatumReader<object?>(schema, schema);
        using var stream = new MemoryStream(value, 5, value.Length - 5);
        var datum = reader.Read(null, new BinaryDecoder(stream));
        if (stream.Position != stream.Length)
            throw new InvalidDataException($"{stream.Length - stream.Position} bytes left after decoding with schema id {id}");
        return (id, datum);
    }

    /// <summary>A decoded datum as one line of JSON-like text: records and maps as objects, enums as their symbol.</summary>
    /// <param name="value">What <see cref="DecodeAsync"/> returned.</param>
    /// <returns>The text.</returns>
    public static string Render(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => JsonSerializer.Serialize(s, s_readable),
        byte[] bytes => JsonSerializer.Serialize(Convert.ToBase64String(bytes)),
        GenericRecord record => "{" + string.Join(", ", record.Schema.Fields.Select(f => $"\"{f.Name}\": {Render(record.GetValue(f.Pos))}")) + "}",
        GenericEnum symbol => JsonSerializer.Serialize(symbol.Value),
        GenericFixed fixedValue => JsonSerializer.Serialize(Convert.ToBase64String(fixedValue.Value)),
        AvroDecimal number => number.ToString(null, CultureInfo.InvariantCulture),
        DateTime time => JsonSerializer.Serialize(time.ToString("O", CultureInfo.InvariantCulture)),
        TimeSpan time => JsonSerializer.Serialize(time.ToString("c", CultureInfo.InvariantCulture)),
        Guid uuid => JsonSerializer.Serialize(uuid.ToString("D")),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IDictionary map => "{" + string.Join(", ", map.Keys.Cast<object>().Select(k => $"{JsonSerializer.Serialize(k.ToString(), s_readable)}: {Render(map[k])}")) + "}",
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Render)) + "]",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Disposes the registry client.</summary>
    public void Dispose() => _client.Dispose();
}

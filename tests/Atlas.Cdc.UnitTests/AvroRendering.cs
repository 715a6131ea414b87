using System.Collections;
using System.Globalization;
using Avro;
using Avro.Generic;
using Avro.IO;

namespace Atlas.Cdc.UnitTests;

/// <summary>
/// Decodes Avro binary with Apache.Avro's own reader (independent of the relay's converter) and renders the result
/// as one short line, so a table row can say what a payload must decode to.
/// </summary>
internal static class AvroRendering
{
    public static object? Decode(string schemaJson, byte[] body)
    {
        var schema = Avro.Schema.Parse(schemaJson);
        var reader = new GenericDatumReader<object?>(schema, schema);
        using var stream = new MemoryStream(body);
        var value = reader.Read(null, new BinaryDecoder(stream));
        Assert.True(stream.Position == body.Length, $"{body.Length - stream.Position} bytes left after decoding");
        return value;
    }

    public static string Render(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"",
        byte[] bytes => "b64:" + Convert.ToBase64String(bytes),
        GenericRecord record => "{" + string.Join(", ", record.Schema.Fields.Select(f => $"{f.Name}: {Render(record.GetValue(f.Pos))}")) + "}",
        GenericEnum symbol => symbol.Value,
        GenericFixed fixedValue => "fixed:" + Convert.ToBase64String(fixedValue.Value),
        AvroDecimal number => number.ToString(null, CultureInfo.InvariantCulture),
        DateTime time => time.ToString("O", CultureInfo.InvariantCulture),
        TimeSpan time => time.ToString("c", CultureInfo.InvariantCulture),
        Guid uuid => uuid.ToString("D"),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IDictionary map => "{" + string.Join(", ", map.Keys.Cast<object>().Select(k => $"{k}: {Render(map[k])}")) + "}",
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Render)) + "]",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

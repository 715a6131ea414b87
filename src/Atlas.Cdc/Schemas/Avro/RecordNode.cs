using System.Text;
using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>
/// record: a JSON object, written field by field in schema order. A field that is absent, or null where its type
/// does not allow null, takes its default; without a default, a field whose type allows null is written as null;
/// otherwise the payload is refused. Properties the schema does not name are ignored (Avro's own rule when a
/// reader's schema lacks a writer's field).
/// </summary>
internal sealed class RecordNode(string name) : AvroNode
{
    /// <summary>Set after construction: a record may contain itself (a tree), so the compiler registers it first.</summary>
    public RecordField[] Fields { get; set; } = [];

    public override string TypeName => $"record {name}";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Object;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.Object);
        foreach (var field in Fields)
        {
            try
            {
                if (value.TryGetProperty(field.Utf8Name, out var fieldValue)
                    && !(fieldValue.ValueKind == JsonValueKind.Null && !field.Node.AcceptsNull && field.Default is not null))
                    field.Node.Write(fieldValue, writer);
                else if (field.Default is { } defaultBytes)
                    writer.WriteFixed(defaultBytes);
                else if (field.Node.AcceptsNull)
                    field.Node.WriteNull(writer);
                else
                    throw new AvroConversionException($"missing required field of type {field.Node.TypeName}");
            }
            catch (AvroConversionException e)
            {
                throw e.InField(field.Name);
            }
        }
    }

    public override void WriteDefault(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.Object);
        foreach (var field in Fields)
        {
            if (value.TryGetProperty(field.Utf8Name, out var fieldValue))
                field.Node.WriteDefault(fieldValue, writer);
            else if (field.Default is { } defaultBytes)
                writer.WriteFixed(defaultBytes);
            else
                throw new AvroConversionException($"the default of {TypeName} lacks field '{field.Name}'");
        }
    }
}

/// <summary>One field of a record: its name (also as UTF-8, for lookups without allocation), type and encoded default.</summary>
internal sealed class RecordField(string name, AvroNode node, byte[]? defaultBytes)
{
    public string Name { get; } = name;

    public byte[] Utf8Name { get; } = Encoding.UTF8.GetBytes(name);

    public AvroNode Node { get; } = node;

    /// <summary>The field's default, already in Avro binary; null when the schema gives none.</summary>
    public byte[]? Default { get; set; } = defaultBytes;
}

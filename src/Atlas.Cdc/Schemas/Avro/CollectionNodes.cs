using System.Runtime.InteropServices;
using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>array: a JSON array, written as one block of items (none for an empty array).</summary>
internal sealed class ArrayNode(AvroNode items) : AvroNode
{
    public override string TypeName => $"array of {items.TypeName}";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Array;

    public override void Write(JsonElement value, AvroBinaryWriter writer) => Write(value, writer, asDefault: false);

    public override void WriteDefault(JsonElement value, AvroBinaryWriter writer) => Write(value, writer, asDefault: true);

    private void Write(JsonElement value, AvroBinaryWriter writer, bool asDefault)
    {
        Require(value, JsonValueKind.Array);
        var count = value.GetArrayLength();
        if (count > 0)
        {
            writer.WriteLong(count);
            var index = 0;
            foreach (var item in value.EnumerateArray())
            {
                try
                {
                    if (asDefault)
                        items.WriteDefault(item, writer);
                    else
                        items.Write(item, writer);
                }
                catch (AvroConversionException e)
                {
                    throw e.AtIndex(index);
                }
                index++;
            }
        }
        writer.WriteLong(0);
    }
}

/// <summary>map: a JSON object whose property names are the keys, written as one block of entries.</summary>
internal sealed class MapNode(AvroNode values) : AvroNode
{
    public override string TypeName => $"map of {values.TypeName}";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Object;

    public override void Write(JsonElement value, AvroBinaryWriter writer) => Write(value, writer, asDefault: false);

    public override void WriteDefault(JsonElement value, AvroBinaryWriter writer) => Write(value, writer, asDefault: true);

    private void Write(JsonElement value, AvroBinaryWriter writer, bool asDefault)
    {
        Require(value, JsonValueKind.Object);
        var count = 0;
        foreach (var _ in value.EnumerateObject())
            count++;
        if (count > 0)
        {
            writer.WriteLong(count);
            foreach (var property in value.EnumerateObject())
            {
                var rawName = JsonMarshal.GetRawUtf8PropertyName(property);
                if (rawName.IndexOf((byte)'\\') < 0)
                    writer.WriteBytes(rawName);
                else
                    writer.WriteString(property.Name);
                try
                {
                    if (asDefault)
                        values.WriteDefault(property.Value, writer);
                    else
                        values.Write(property.Value, writer);
                }
                catch (AvroConversionException e)
                {
                    throw e.InField(property.Name);
                }
            }
        }
        writer.WriteLong(0);
    }
}

using System.Runtime.InteropServices;
using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>
/// One schema type, compiled: writes a JSON value as that type's Avro binary encoding, or throws
/// <see cref="AvroConversionException"/> naming what it expected and what it got.
/// </summary>
internal abstract class AvroNode
{
    /// <summary>The type as error messages name it: <c>double</c>, <c>record Order</c>, <c>array of long</c>.</summary>
    public abstract string TypeName { get; }

    /// <summary>Whether a JSON value of this kind could be this type (how a union picks its branch).</summary>
    public abstract bool Accepts(JsonValueKind kind);

    public abstract void Write(JsonElement value, AvroBinaryWriter writer);

    /// <summary>
    /// Writes a field default from the schema. Avro's default JSON differs from the payload mapping in two places:
    /// a union's default is its first branch, and bytes/fixed defaults are ISO-8859-1 strings, not base64.
    /// </summary>
    public virtual void WriteDefault(JsonElement value, AvroBinaryWriter writer) => Write(value, writer);

    /// <summary>A union with a null branch; a missing field of such a type is written as null.</summary>
    public virtual bool AcceptsNull => false;

    /// <summary>Writes null for a type that <see cref="AcceptsNull"/>.</summary>
    public virtual void WriteNull(AvroBinaryWriter writer) => throw new InvalidOperationException($"{TypeName} does not accept null");

    /// <summary>Writes a JSON string's UTF-8 text, copying the raw bytes when it has no escapes.</summary>
    protected static void WriteJsonString(JsonElement value, AvroBinaryWriter writer)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value);
        var text = raw[1..^1]; // without the quotes
        if (text.IndexOf((byte)'\\') < 0)
            writer.WriteBytes(text);
        else
            writer.WriteString(value.GetString()!);
    }

    protected void Require(JsonElement value, JsonValueKind kind)
    {
        if (value.ValueKind != kind)
            throw AvroConversionException.Expected(TypeName, value);
    }
}

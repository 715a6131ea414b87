using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

// The primitive types of the mapping, one small writer each (docs/consuming.md, "JSON to Avro").

internal sealed class NullNode : AvroNode
{
    public override string TypeName => "null";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Null;

    public override void Write(JsonElement value, AvroBinaryWriter writer) => Require(value, JsonValueKind.Null);
}

internal sealed class BooleanNode : AvroNode
{
    public override string TypeName => "boolean";

    public override bool Accepts(JsonValueKind kind) => kind is JsonValueKind.True or JsonValueKind.False;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw AvroConversionException.Expected(TypeName, value);
        writer.WriteBoolean(value.ValueKind == JsonValueKind.True);
    }
}

internal sealed class IntNode : AvroNode
{
    public override string TypeName => "int";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.Number);
        if (!value.TryGetInt32(out var number))
            throw Numbers.NotAnInteger(TypeName, value, "-2147483648 to 2147483647");
        writer.WriteInt(number);
    }
}

internal sealed class LongNode : AvroNode
{
    public override string TypeName => "long";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.Number);
        if (!value.TryGetInt64(out var number))
            throw Numbers.NotAnInteger(TypeName, value, "a 64-bit integer");
        writer.WriteLong(number);
    }
}

internal sealed class FloatNode : AvroNode
{
    public override string TypeName => "float";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.Number);
        var number = value.GetDouble();
        if (!double.IsFinite(number) || Math.Abs(number) > float.MaxValue)
            throw new AvroConversionException($"number {AvroConversionException.Describe(value)} is out of range for float");
        writer.WriteFloat((float)number);
    }
}

internal sealed class DoubleNode : AvroNode
{
    public override string TypeName => "double";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.Number;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.Number);
        var number = value.GetDouble();
        if (!double.IsFinite(number))
            throw new AvroConversionException($"number {AvroConversionException.Describe(value)} is out of range for double");
        writer.WriteDouble(number);
    }
}

internal sealed class StringNode : AvroNode
{
    public override string TypeName => "string";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.String;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.String);
        WriteJsonString(value, writer);
    }
}

/// <summary>bytes: a base64 string in the payload.</summary>
internal sealed class BytesNode : AvroNode
{
    public override string TypeName => "bytes (base64)";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.String;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        if (value.ValueKind != JsonValueKind.String || !value.TryGetBytesFromBase64(out var bytes))
            throw AvroConversionException.Expected(TypeName, value);
        writer.WriteBytes(bytes);
    }

    public override void WriteDefault(JsonElement value, AvroBinaryWriter writer) => writer.WriteBytes(Numbers.Latin1(value));
}

/// <summary>fixed: a base64 string of exactly the fixed size.</summary>
internal sealed class FixedNode(string name, int size) : AvroNode
{
    public override string TypeName => $"fixed {name} ({size} bytes, base64)";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.String;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        if (value.ValueKind != JsonValueKind.String || !value.TryGetBytesFromBase64(out var bytes))
            throw AvroConversionException.Expected(TypeName, value);
        if (bytes.Length != size)
            throw new AvroConversionException($"expected {TypeName}, got {bytes.Length} bytes");
        writer.WriteFixed(bytes);
    }

    public override void WriteDefault(JsonElement value, AvroBinaryWriter writer) => writer.WriteFixed(Numbers.Latin1(value));
}

internal static class Numbers
{
    /// <summary>Why a JSON number is not the integer type wanted: a fraction, or out of range.</summary>
    public static AvroConversionException NotAnInteger(string type, JsonElement value, string range)
    {
        var text = value.GetRawText();
        var integral = !text.Contains('.') && !text.Contains('e') && !text.Contains('E');
        return integral
            ? new AvroConversionException($"number {AvroConversionException.Describe(value)} is out of range for {type} ({range})")
            : AvroConversionException.Expected(type, value);
    }

    /// <summary>Avro's JSON defaults for bytes and fixed: each character is one byte (ISO-8859-1).</summary>
    public static byte[] Latin1(JsonElement value) => System.Text.Encoding.Latin1.GetBytes(value.GetString() ?? "");
}

using System.Text;
using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>enum: a JSON string naming one of the symbols, written as the symbol's index.</summary>
internal sealed class EnumNode(string name, IReadOnlyList<string> symbols) : AvroNode
{
    private readonly byte[][] _symbols = [.. symbols.Select(Encoding.UTF8.GetBytes)];

    public override string TypeName => $"enum {name}";

    public override bool Accepts(JsonValueKind kind) => kind == JsonValueKind.String;

    public override void Write(JsonElement value, AvroBinaryWriter writer)
    {
        Require(value, JsonValueKind.String);
        for (var i = 0; i < _symbols.Length; i++)
        {
            if (value.ValueEquals(_symbols[i]))
            {
                writer.WriteInt(i);
                return;
            }
        }
        var known = symbols.Count <= 12 ? string.Join(", ", symbols) : string.Join(", ", symbols.Take(12)) + ", ...";
        throw new AvroConversionException($"unknown symbol {AvroConversionException.Describe(value)} of {TypeName} (symbols: {known})");
    }
}

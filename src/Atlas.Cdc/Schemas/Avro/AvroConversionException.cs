using System.Text;
using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>
/// A JSON value that does not fit the schema. Thrown at the offending value; each enclosing record, array or map
/// adds its step on the way out, so the message carries the JSON path: <c>$.items[2].price: expected double, got "12,5"</c>.
/// </summary>
internal sealed class AvroConversionException(string problem) : Exception(problem)
{
    private readonly List<string> _steps = [];

    public string Problem { get; } = problem;

    /// <summary>The JSON path of the offending value, from the payload's root (<c>$</c>).</summary>
    public string Path
    {
        get
        {
            var path = new StringBuilder("$");
            for (var i = _steps.Count - 1; i >= 0; i--)
                path.Append(_steps[i]);
            return path.ToString();
        }
    }

    public override string Message => $"{Path}: {Problem}";

    public AvroConversionException InField(string name)
    {
        _steps.Add(IsPlain(name) ? "." + name : $"['{name.Replace("'", "\\'", StringComparison.Ordinal)}']");
        return this;
    }

    public AvroConversionException AtIndex(int index)
    {
        _steps.Add($"[{index}]");
        return this;
    }

    public static AvroConversionException Expected(string type, JsonElement got) => new($"expected {type}, got {Describe(got)}");

    /// <summary>The offending value as a person reads it, short: strings quoted, containers named.</summary>
    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        _ => Shorten(value.GetRawText()),
    };

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    private static bool IsPlain(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
            return false;
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
                return false;
        }
        return true;
    }
}

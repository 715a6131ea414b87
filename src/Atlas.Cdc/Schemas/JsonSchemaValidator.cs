using System.Text;
using System.Text.RegularExpressions;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Atlas.Cdc.Schemas;

/// <summary>
/// A subject's JSON Schema (NJsonSchema, the validator Confluent's JSON serdes use) and the Confluent JSON wire
/// format: magic byte 0, the schema id as 4 bytes big-endian, then the payload's JSON text unchanged.
/// </summary>
internal sealed partial class JsonSchemaValidator(int schemaId, JsonSchema schema)
{
    public static JsonSchemaValidator Parse(int schemaId, string schemaText) =>
        new(schemaId, JsonSchema.FromJsonAsync(schemaText).GetAwaiter().GetResult());

    /// <summary>The first violation as <c>$.items[2].price: number expected</c> (and how many more), or null when the payload fits.</summary>
    public string? Validate(byte[] payload)
    {
        var errors = schema.Validate(Encoding.UTF8.GetString(payload));
        if (errors.Count == 0)
            return null;
        var first = Describe(errors.First());
        return errors.Count == 1 ? first : $"{first} (and {errors.Count - 1} more)";
    }

    public byte[] Encode(byte[] payload)
    {
        var value = new byte[5 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(1), schemaId);
        payload.CopyTo(value, 5);
        return value;
    }

    private static string Describe(ValidationError error)
    {
        // The innermost error says most: a oneOf/anyOf failure carries its branches' errors.
        if (error is ChildSchemaValidationError child && child.Errors.Values.SelectMany(e => e).FirstOrDefault() is { } inner)
            return Describe(inner);
        return $"{JsonPath(error.Path)}: {Words(error.Kind.ToString())}";
    }

    /// <summary>NJsonSchema's <c>#/items[2].price</c> as a JSON path, <c>$.items[2].price</c>.</summary>
    internal static string JsonPath(string? path) => path switch
    {
        null or "" or "#" or "#/" => "$",
        _ when path.StartsWith("#/", StringComparison.Ordinal) => "$." + path[2..],
        _ => "$." + path,
    };

    private static string Words(string kind) => CamelCase().Replace(kind, " $1").ToLowerInvariant();

    [GeneratedRegex("(?<=[a-z])([A-Z])")]
    private static partial Regex CamelCase();
}

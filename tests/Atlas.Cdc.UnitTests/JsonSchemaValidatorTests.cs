using System.Text;
using Atlas.Cdc.Schemas;

namespace Atlas.Cdc.UnitTests;

public class JsonSchemaValidatorTests
{
    private const string Schema = """
        {"type": "object", "required": ["customer", "items"], "properties": {
          "customer": {"type": "string"},
          "items": {"type": "array", "items": {"type": "object", "properties": {"price": {"type": "number"}}}}}}
        """;

    [Theory]
    [InlineData("""{"customer": "c", "items": [{"price": 1}]}""", null)]
    [InlineData("""{"customer": "c", "items": [{"price": 1}, {"price": 2}, {"price": "12,5"}]}""", "$.items[2].price: number expected")]
    [InlineData("""{"items": []}""", "$.customer: property required")]
    public void Payload_is_validated_with_the_json_path_of_the_first_violation(string payload, string? expected)
    {
        var validator = JsonSchemaValidator.Parse(3, Schema);
        Assert.Equal(expected, validator.Validate(Encoding.UTF8.GetBytes(payload)));
    }

    [Fact]
    public void Wire_format_is_magic_byte_zero_the_id_big_endian_and_the_json_unchanged() =>
        Assert.Equal([0, 0, 0, 1, 2, .. "{}"u8.ToArray()], JsonSchemaValidator.Parse(258, Schema).Encode("{}"u8.ToArray()));
}

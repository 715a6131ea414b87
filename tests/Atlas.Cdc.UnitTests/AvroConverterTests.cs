using Atlas.Cdc.Schemas.Avro;

namespace Atlas.Cdc.UnitTests;

/// <summary>
/// The JSON-to-Avro mapping, type by type: each row's payload is converted by the relay's compiled plan and decoded
/// by Apache.Avro's GenericDatumReader (an independent decoder), then compared with what the row expects.
/// </summary>
public class AvroConverterTests
{
    private const string Money = """{"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}""";

    public static TheoryData<string, string, string, string> Conversions => new()
    {
        // name, schema, payload, decoded
        { "null", "\"null\"", "null", "null" },
        { "boolean", "\"boolean\"", "true", "true" },
        { "int", "\"int\"", "-42", "-42" },
        { "int max", "\"int\"", "2147483647", "2147483647" },
        { "long", "\"long\"", "9007199254740993", "9007199254740993" },
        { "float", "\"float\"", "1.5", "1.5" },
        { "double", "\"double\"", "12.5e-3", "0.0125" },
        { "double from an integer", "\"double\"", "12", "12" },
        { "string", "\"string\"", "\"naïve café ☃ 𝄞\"", "\"naïve café ☃ 𝄞\"" },
        { "string with escapes", "\"string\"", "\"line\\nbreak \\\"quoted\\\" \\u00e9\"", "\"line\\nbreak \\\"quoted\\\" é\"" },
        { "bytes (base64)", "\"bytes\"", "\"AAEC/w==\"", "b64:AAEC/w==" },
        { "fixed", """{"type": "fixed", "name": "Hash", "size": 4}""", "\"3q2+7w==\"", "fixed:3q2+7w==" },
        { "enum", """{"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}""", "\"GREEN\"", "GREEN" },
        { "array", """{"type": "array", "items": "int"}""", "[1, 2, 3]", "[1, 2, 3]" },
        { "empty array", """{"type": "array", "items": "string"}""", "[]", "[]" },
        { "map", """{"type": "map", "values": "long"}""", """{"a": 1, "b\u00e9": 2}""", "{a: 1, bé: 2}" },
        { "empty map", """{"type": "map", "values": "long"}""", "{}", "{}" },
        { "union with null: null", """["null", "string"]""", "null", "null" },
        { "union with null: value", """["null", "string"]""", "\"x\"", "\"x\"" },
        { "union by JSON kind", """["null", "long", "string"]""", "\"7\"", "\"7\"" },
        { "union int before long", """["int", "long"]""", "5000000000", "5000000000" },
        { "union in Avro's JSON form", """["null", "int", "string"]""", """{"string": "wrapped"}""", "\"wrapped\"" },
        { "union of two records", """[{"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]}, {"type": "record", "name": "B", "fields": [{"name": "b", "type": "string"}]}]""", """{"b": "second"}""", "{b: \"second\"}" },
        { "record, unknown properties ignored", """{"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]}""", """{"x": 1, "extra": [1, 2]}""", "{x: 1}" },
        { "nested records", """{"type": "record", "name": "Order", "fields": [{"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [{"name": "name", "type": "string"}]}}, {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [{"name": "sku", "type": "string"}, {"name": "price", "type": "double"}]}}}]}""", """{"items": [{"price": 2.5, "sku": "A-1"}], "customer": {"name": "Ada"}}""", "{customer: {name: \"Ada\"}, items: [{sku: \"A-1\", price: 2.5}]}" },
        { "defaults for missing fields", """{"type": "record", "name": "R", "fields": [{"name": "id", "type": "int"}, {"name": "note", "type": ["null", "string"], "default": null}, {"name": "qty", "type": "int", "default": 1}, {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["new"]}, {"name": "color", "type": {"type": "enum", "name": "C", "symbols": ["RED", "BLUE"]}, "default": "BLUE"}, {"name": "raw", "type": "bytes", "default": "\u00ff"}, {"name": "opt", "type": ["string", "null"], "default": "d"}]}""", """{"id": 7}""", "{id: 7, note: null, qty: 1, tags: [\"new\"], color: BLUE, raw: b64:/w==, opt: \"d\"}" },
        { "null where not allowed takes the default", """{"type": "record", "name": "R", "fields": [{"name": "qty", "type": "int", "default": 1}]}""", """{"qty": null}""", "{qty: 1}" },
        { "missing nullable field without default is null", """{"type": "record", "name": "R", "fields": [{"name": "note", "type": ["null", "string"]}]}""", "{}", "{note: null}" },
        { "recursive record", """{"type": "record", "name": "Node", "fields": [{"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"], "default": null}]}""", """{"v": 1, "next": {"v": 2}}""", "{v: 1, next: {v: 2, next: null}}" },
        { "date", """{"type": "int", "logicalType": "date"}""", "\"2026-11-22\"", "2026-11-22T00:00:00.0000000Z" },
        { "date before 1970", """{"type": "int", "logicalType": "date"}""", "\"1969-12-31\"", "1969-12-31T00:00:00.0000000Z" },
        { "time-millis", """{"type": "int", "logicalType": "time-millis"}""", "\"13:45:30.250\"", "13:45:30.2500000" },
        { "time-micros", """{"type": "long", "logicalType": "time-micros"}""", "\"13:45:30.123456\"", "13:45:30.1234560" },
        { "timestamp-millis (RFC 3339, offset)", """{"type": "long", "logicalType": "timestamp-millis"}""", "\"2026-11-22T05:03:00.123456+01:00\"", "2026-11-22T04:03:00.1230000Z" },
        { "timestamp-millis (Z)", """{"type": "long", "logicalType": "timestamp-millis"}""", "\"2026-11-22T05:03:00Z\"", "2026-11-22T05:03:00.0000000Z" },
        { "timestamp-millis (epoch number)", """{"type": "long", "logicalType": "timestamp-millis"}""", "1795323780123", "2026-11-22T05:03:00.1230000Z" },
        { "timestamp-micros", """{"type": "long", "logicalType": "timestamp-micros"}""", "\"2026-11-22T05:03:00.123456Z\"", "2026-11-22T05:03:00.1234560Z" },
        { "timestamp-micros before 1970", """{"type": "long", "logicalType": "timestamp-micros"}""", "\"1969-12-31T23:59:59.9999995Z\"", "1969-12-31T23:59:59.9999990Z" },
        { "decimal from a number", Money, "12.5", "12.50" },
        { "decimal from a string", Money, "\"-0.01\"", "-0.01" },
        { "decimal with exponent", Money, "1.25e2", "125.00" },
        { "decimal with trailing zeros", Money, "\"3.1400\"", "3.14" },
        { "decimal as fixed", """{"type": "fixed", "name": "Amount", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 3}""", "\"-123.456\"", "-123.456" },
        { "uuid", """{"type": "string", "logicalType": "uuid"}""", "\"7D3C5C4E-0F55-4A51-9D8A-1B2F7C3E9A10\"", "7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10" },
        { "unknown logical type", """{"type": "string", "logicalType": "x-color"}""", "\"teal\"", "\"teal\"" },
    };

    [Theory]
    [MemberData(nameof(Conversions))]
    public void Payload_converts_to_avro_that_apache_avro_decodes(string name, string schema, string payload, string decoded)
    {
        var body = AvroPlan.EncodeBody(AvroPlanCompiler.Compile(schema), payload);
        Assert.True(decoded == AvroRendering.Render(AvroRendering.Decode(schema, body)), $"{name}: decoded {AvroRendering.Render(AvroRendering.Decode(schema, body))}");
    }

    private const string OrderSchema = """
        {"type": "record", "name": "Order", "namespace": "com.acme", "fields": [
          {"name": "customer", "type": "string"},
          {"name": "quantity", "type": "int"},
          {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
          {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}},
          {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
          {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [
            {"name": "price", "type": "double"}]}}},
          {"name": "attributes", "type": {"type": "map", "values": "string"}, "default": {}},
          {"name": "ref", "type": ["null", {"type": "string", "logicalType": "uuid"}], "default": null}
        ]}
        """;

    private const string GoodOrder = """
        {"customer": "c-1", "quantity": 2, "status": "NEW", "total": 12.5, "placed_at": "2026-11-22T05:03:00Z",
         "items": [{"price": 1}, {"price": 2}, {"price": 3.5}]}
        """;

    public static TheoryData<string, string> BadPayloads => new()
    {
        // payload edit (a JSON object merged over GoodOrder), the error the relay reports
        { """{"items": [{"price": 1}, {"price": 2}, {"price": "12,5"}]}""", "$.items[2].price: expected double, got \"12,5\"" },
        { """{"customer": null}""", "$.customer: expected string, got null" },
        { """{"customer": "__missing__"}""", "$.customer: missing required field of type string" },
        { """{"quantity": 3000000000}""", "$.quantity: number 3000000000 is out of range for int (-2147483648 to 2147483647)" },
        { """{"quantity": 2.5}""", "$.quantity: expected int, got 2.5" },
        { """{"quantity": "2"}""", "$.quantity: expected int, got \"2\"" },
        { """{"status": "SHIPPED"}""", "$.status: unknown symbol \"SHIPPED\" of enum com.acme.Status (symbols: NEW, PAID)" },
        { """{"total": 12.345}""", "$.total: 12.345 has more decimal places than decimal(6,2) keeps (2)" },
        { """{"total": 123456.7}""", "$.total: number 123456.7 is out of range for decimal(6,2)" },
        { """{"placed_at": "2026-11-22 05:03:00"}""", "$.placed_at: expected timestamp-micros (RFC 3339), got \"2026-11-22 05:03:00\"" },
        { """{"items": {"price": 1}}""", "$.items: expected array of record com.acme.Item, got an object" },
        { """{"attributes": {"size": 42}}""", "$.attributes.size: expected string, got 42" },
        { """{"attributes": {"odd key": true}}""", "$.attributes['odd key']: expected string, got true" },
        { """{"ref": "not-a-uuid"}""", "$.ref: expected uuid, got \"not-a-uuid\"" },
        { """{"ref": 5}""", "$.ref: expected one of [null, uuid], got 5" },
    };

    [Theory]
    [MemberData(nameof(BadPayloads))]
    public void Payload_that_does_not_fit_is_refused_with_the_json_path_of_the_offending_value(string edit, string expected)
    {
        var payload = Merge(GoodOrder, edit);
        var plan = AvroPlanCompiler.Compile(OrderSchema);
        var error = Assert.Throws<AvroConversionException>(() => AvroPlan.EncodeBody(plan, payload));
        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void The_good_order_converts_and_an_unparsable_payload_is_refused()
    {
        var plan = AvroPlanCompiler.Compile(OrderSchema);
        var decoded = AvroRendering.Render(AvroRendering.Decode(OrderSchema, AvroPlan.EncodeBody(plan, GoodOrder)));
        Assert.Equal("{customer: \"c-1\", quantity: 2, status: NEW, total: 12.50, placed_at: 2026-11-22T05:03:00.0000000Z, " +
                     "items: [{price: 1}, {price: 2}, {price: 3.5}], attributes: {}, ref: null}", decoded);
        var error = Assert.Throws<AvroConversionException>(() => new AvroPlan(7, plan).Encode("{\"customer\": "u8.ToArray()));
        Assert.StartsWith("$: the payload is not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wire_format_is_magic_byte_zero_then_the_schema_id_big_endian_then_the_avro_body()
    {
        var plan = new AvroPlan(0x01020304, AvroPlanCompiler.Compile("\"int\""));
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4, 0x54 }, plan.Encode("42"u8.ToArray())); // 42 zig-zag = 84 = 0x54
    }

    [Fact]
    public void A_default_that_does_not_fit_its_field_makes_the_schema_unusable_with_a_clear_reason()
    {
        var error = Assert.ThrowsAny<Exception>(() => AvroPlanCompiler.Compile(
            """{"type": "record", "name": "R", "fields": [{"name": "n", "type": "int", "default": "one"}]}"""));
        Assert.Contains("n", error.Message, StringComparison.Ordinal);
    }

    private static string Merge(string baseJson, string edit)
    {
        var target = System.Text.Json.Nodes.JsonNode.Parse(baseJson)!.AsObject();
        foreach (var (name, value) in System.Text.Json.Nodes.JsonNode.Parse(edit)!.AsObject())
        {
            if (value?.GetValueKind() == System.Text.Json.JsonValueKind.String && value.GetValue<string>() == "__missing__")
                target.Remove(name);
            else
                target[name] = value?.DeepClone();
        }
        return target.ToJsonString();
    }
}

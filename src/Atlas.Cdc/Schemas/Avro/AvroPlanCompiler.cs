using System.Globalization;
using System.Text.Json;
using Avro;
using AvroSchema = Avro.Schema;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>
/// Compiles a schema (parsed by Apache.Avro, which resolves names and namespaces) into a tree of
/// <see cref="AvroNode"/> writers, once per schema id; field defaults are encoded here, once.
/// </summary>
internal static class AvroPlanCompiler
{
    /// <summary>Parses and compiles; <see cref="SchemaParseException"/> or <see cref="AvroException"/> when the schema cannot be used.</summary>
    public static AvroNode Compile(string schemaText) => new Compilation().Node(AvroSchema.Parse(schemaText));

    private sealed class Compilation
    {
        // A record may refer to itself (directly or through other types): compile each named record once.
        private readonly Dictionary<RecordSchema, RecordNode> _records = new(ReferenceEqualityComparer.Instance);

        public AvroNode Node(AvroSchema schema) => schema switch
        {
            LogicalSchema logical => Logical(logical),
            RecordSchema record => Record(record),
            EnumSchema enumeration => new EnumNode(enumeration.Fullname, [.. enumeration.Symbols]),
            ArraySchema array => new ArrayNode(Node(array.ItemSchema)),
            MapSchema map => new MapNode(Node(map.ValueSchema)),
            UnionSchema union => new UnionNode([.. union.Schemas.Select(b => (Node(b), BranchName(b), ShortName(b)))]),
            FixedSchema fixedSchema => new FixedNode(fixedSchema.Fullname, fixedSchema.Size),
            _ => schema.Tag switch
            {
                AvroSchema.Type.Null => new NullNode(),
                AvroSchema.Type.Boolean => new BooleanNode(),
                AvroSchema.Type.Int => new IntNode(),
                AvroSchema.Type.Long => new LongNode(),
                AvroSchema.Type.Float => new FloatNode(),
                AvroSchema.Type.Double => new DoubleNode(),
                AvroSchema.Type.Bytes => new BytesNode(),
                AvroSchema.Type.String => new StringNode(),
                _ => throw new AvroException($"type {schema.Tag} is not supported"),
            },
        };

        private RecordNode Record(RecordSchema schema)
        {
            if (_records.TryGetValue(schema, out var known))
                return known;
            var node = new RecordNode(schema.Fullname);
            _records[schema] = node;
            node.Fields = [.. schema.Fields.Select(field => new RecordField(field.Name, Node(field.Schema), null))];
            for (var i = 0; i < node.Fields.Length; i++)
            {
                if (schema.Fields[i].DefaultValue is { } defaultValue)
                    node.Fields[i].Default = EncodeDefault(node.Fields[i], defaultValue.ToString(Newtonsoft.Json.Formatting.None), schema.Fullname);
            }
            return node;
        }

        private static byte[] EncodeDefault(RecordField field, string defaultJson, string recordName)
        {
            using var document = JsonDocument.Parse(defaultJson);
            var writer = new AvroBinaryWriter();
            try
            {
                field.Node.WriteDefault(document.RootElement, writer);
            }
            catch (AvroConversionException e)
            {
                throw new AvroException($"the default of field '{field.Name}' of record {recordName} does not fit its type: {e.Problem}");
            }
            return writer.ToArray();
        }

        private AvroNode Logical(LogicalSchema schema)
        {
            var baseType = schema.BaseSchema.Tag;
            return (schema.LogicalTypeName, baseType) switch
            {
                ("date", AvroSchema.Type.Int) => new DateNode(),
                ("time-millis", AvroSchema.Type.Int) => new TimeNode(micros: false),
                ("time-micros", AvroSchema.Type.Long) => new TimeNode(micros: true),
                ("timestamp-millis", AvroSchema.Type.Long) => new TimestampNode(micros: false, local: false),
                ("timestamp-micros", AvroSchema.Type.Long) => new TimestampNode(micros: true, local: false),
                ("local-timestamp-millis", AvroSchema.Type.Long) => new TimestampNode(micros: false, local: true),
                ("local-timestamp-micros", AvroSchema.Type.Long) => new TimestampNode(micros: true, local: true),
                ("uuid", AvroSchema.Type.String) => new UuidNode(),
                ("decimal", AvroSchema.Type.Bytes or AvroSchema.Type.Fixed) => new DecimalNode(
                    Integer(schema, "precision", 0), Integer(schema, "scale", 0),
                    schema.BaseSchema is FixedSchema fixedSchema ? fixedSchema.Size : null),
                // The specification: an unknown logical type is read as its underlying type.
                _ => Node(schema.BaseSchema),
            };
        }

        private static int Integer(LogicalSchema schema, string property, int fallback) =>
            schema.GetProperty(property) is { } text && int.TryParse(text.Trim('"'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : fallback;

        /// <summary>The name Avro's JSON encoding uses for a union branch: the full name of a named type, else the type.</summary>
        private static string BranchName(AvroSchema schema) => schema switch
        {
            NamedSchema named => named.Fullname,
            LogicalSchema logical => BranchName(logical.BaseSchema),
            _ => schema.Tag.ToString().ToLowerInvariant() switch
            {
                "enumeration" => "enum",
                var name => name,
            },
        };

        private static string? ShortName(AvroSchema schema) => schema is NamedSchema named ? named.Name : null;
    }
}

using System.Text.Json;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>
/// A compiled schema with its registry id: turns a JSON payload into a Confluent wire-format Avro value (magic
/// byte 0, the schema id as 4 bytes big-endian, the Avro binary). One instance per schema id; not thread-safe
/// (its buffer is reused): the relay calls it from the publishing loop only.
/// </summary>
internal sealed class AvroPlan(int schemaId, AvroNode root)
{
    private readonly AvroBinaryWriter _writer = new();

    public int SchemaId { get; } = schemaId;

    public AvroNode Root { get; } = root;

    /// <summary>The wire-format value; <see cref="AvroConversionException"/> when the payload does not fit.</summary>
    public byte[] Encode(ReadOnlyMemory<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new AvroConversionException($"the payload is not valid JSON ({e.Message})");
        }
        using (document)
        {
            _writer.Reset();
            _writer.WriteByte(0);
            _writer.WriteInt32BigEndian(SchemaId);
            Root.Write(document.RootElement, _writer);
            return _writer.ToArray();
        }
    }

    /// <summary>The Avro binary alone, without the wire-format header (tests and tools).</summary>
    public static byte[] EncodeBody(AvroNode root, string json)
    {
        using var document = JsonDocument.Parse(json);
        var writer = new AvroBinaryWriter();
        root.Write(document.RootElement, writer);
        return writer.ToArray();
    }
}

using Atlas.Cdc.Configuration;
using System.Buffers.Binary;
using System.Text;
using Atlas.Cdc.Events;
using Atlas.Cdc.Reading;
using Atlas.Cdc.Reading.PgOutput;

namespace Atlas.Cdc.UnitTests;

/// <summary>
/// The pgoutput decoding against messages laid out as PostgreSQL's logicalrep_write_* functions write them
/// (protocol version 1). The integration tests decode a real server's stream; these pin the edge cases.
/// </summary>
public class PgOutputDecodingTests
{
    private const ulong Lsn = 0x1_6B37_4D48;
    private static readonly OutboxCatalog s_outboxes = OutboxCatalog.From(new CdcOptions());
    private static readonly OutboxDefinition s_outbox = s_outboxes.All[0];
    private static readonly string[] s_columns = ["id", "aggregate_type", "aggregate_id", "event_type", "payload", "headers", "created_at"];

    [Fact]
    public void Begin_and_commit_give_the_positions_and_the_commit_time()
    {
        var commitTime = new DateTime(2026, 12, 2, 12, 34, 56, DateTimeKind.Utc).AddTicks(1234560);
        var begin = new Message('B').UInt64(0x2_0000_0100).Timestamp(commitTime).Int32(777).ToArray();
        var reader = new PgOutputReader(begin, Lsn);
        Assert.Equal((0x2_0000_0100UL, commitTime), PgOutputMessages.ReadBegin(ref reader));

        var commit = new Message('C').Byte(0).UInt64(0x2_0000_0100).UInt64(0x2_0000_0130).Timestamp(commitTime).ToArray();
        reader = new PgOutputReader(commit, Lsn);
        Assert.Equal((0x2_0000_0100UL, 0x2_0000_0130UL), PgOutputMessages.ReadCommit(ref reader));
    }

    [Fact]
    public void A_relation_message_maps_the_contract_columns_wherever_they_are()
    {
        string[] reordered = ["created_at", "payload", "id", "event_type", "aggregate_id", "aggregate_type"];
        var reader = new PgOutputReader(RelationMessage(16385, "public", "outbox", reordered), Lsn);
        var relation = PgOutputMessages.ReadRelation(ref reader);
        var map = OutboxColumnMap.Create(relation.Columns, relation.ColumnTypes, s_outbox);

        Assert.Equal((16385u, "public", "outbox"), (relation.Id, relation.Schema, relation.Name));
        Assert.Same(s_outbox, s_outboxes.ForTable(relation.Schema, relation.Name));
        Assert.Equal((2, 5, 4, 3, 1, -1), (map.Id, map.AggregateType, map.AggregateId, map.EventType, map.Payload, map.Headers));
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void An_insert_is_copied_out_byte_for_byte()
    {
        var payload = "{\"total\": 12.50, \"note\": \"é\\u0000\"}";
        var insert = InsertMessage(16385, "0195f0e4-7b6a-7c3e-9d2f-0a1b2c3d4e5f", "Order", "42", "OrderPlaced", payload, null, "2026-12-02 12:00:00+00");
        var reader = new PgOutputReader(insert, Lsn);
        Assert.Equal(16385u, PgOutputMessages.ReadInsertHeader(ref reader));
        var outboxEvent = OutboxRowDecoder.Decode(ref reader, OutboxColumnMap.Create(s_columns, TextTypes(s_columns.Length), s_outbox));

        Assert.Equal("0195f0e4-7b6a-7c3e-9d2f-0a1b2c3d4e5f", outboxEvent.IdText);
        Assert.Equal("Order", outboxEvent.AggregateType);
        Assert.Equal("Order"u8.ToArray(), outboxEvent.AggregateTypeBytes);
        Assert.Equal("42"u8.ToArray(), outboxEvent.AggregateId);
        Assert.Equal("OrderPlaced"u8.ToArray(), outboxEvent.EventType);
        Assert.Equal(Encoding.UTF8.GetBytes(payload), outboxEvent.Payload);
        Assert.Null(outboxEvent.Headers);
        Assert.Null(outboxEvent.DecodeError);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void A_null_in_a_required_column_is_named_for_the_dead_letter()
    {
        var insert = InsertMessage(16385, null, "Order", "42", null, "{}", "{\"a\":\"b\"}", "2026-12-02 12:00:00+00");
        var reader = new PgOutputReader(insert, Lsn);
        PgOutputMessages.ReadInsertHeader(ref reader);
        var outboxEvent = OutboxRowDecoder.Decode(ref reader, OutboxColumnMap.Create(s_columns, TextTypes(s_columns.Length), s_outbox));

        Assert.Equal("column(s) id, event_type are NULL", outboxEvent.DecodeError);
        Assert.Equal("{\"a\":\"b\"}"u8.ToArray(), outboxEvent.Headers);
    }

    [Fact]
    public void A_truncated_message_is_an_error_naming_its_type_and_lsn()
    {
        var insert = InsertMessage(16385, "id-1", "Order", "42", "OrderPlaced", "{}", null, "now");
        var reader = new PgOutputReader(insert.AsSpan(0, insert.Length - 3), Lsn);
        PgOutputMessages.ReadInsertHeader(ref reader);
        var map = OutboxColumnMap.Create(s_columns, TextTypes(s_columns.Length), s_outbox);
        InvalidOperationException? error = null;
        try
        {
            OutboxRowDecoder.Decode(ref reader, map);
        }
        catch (InvalidOperationException e)
        {
            error = e;
        }

        Assert.NotNull(error);
        Assert.Contains("pgoutput message 'I' at LSN 1/6B374D48 is malformed", error.Message);
    }

    [Fact]
    public void An_unknown_column_kind_is_an_error()
    {
        var insert = new Message('I').UInt32(16385).Byte((byte)'N').Int16(1).Byte((byte)'x').ToArray();
        var reader = new PgOutputReader(insert, Lsn);
        PgOutputMessages.ReadInsertHeader(ref reader);
        var map = OutboxColumnMap.Create(s_columns, TextTypes(s_columns.Length), s_outbox);
        var message = "";
        try
        {
            OutboxRowDecoder.Decode(ref reader, map);
        }
        catch (InvalidOperationException e)
        {
            message = e.Message;
        }
        Assert.Contains("column 1 has the unknown kind 'x'", message);
    }

    [Theory]
    [InlineData("atlas_outbox", "\"atlas_outbox\"")]
    [InlineData("My \"Pub\"", "\"My \"\"Pub\"\"\"")]
    [InlineData("it's", "\"it''s\"")]
    public void The_publication_name_is_quoted_for_the_start_replication_command(string publication, string expected) =>
        Assert.Equal(expected, PgOutputStream.PublicationNamesOption(publication));

    private static uint[] TextTypes(int count) => [.. Enumerable.Repeat(25u, count)];

    private static byte[] RelationMessage(uint id, string schema, string name, string[] columns)
    {
        var message = new Message('R').UInt32(id).String(schema).String(name).Byte((byte)'d').Int16((short)columns.Length);
        foreach (var column in columns)
            message.Byte(0).String(column).UInt32(25).Int32(-1);
        return message.ToArray();
    }

    private static byte[] InsertMessage(uint relationId, params string?[] values)
    {
        var message = new Message('I').UInt32(relationId).Byte((byte)'N').Int16((short)values.Length);
        foreach (var value in values)
        {
            if (value is null)
            {
                message.Byte((byte)'n');
                continue;
            }
            var bytes = Encoding.UTF8.GetBytes(value);
            message.Byte((byte)'t').Int32(bytes.Length).Bytes(bytes);
        }
        return message.ToArray();
    }

    /// <summary>Writes a message the way the server does: big-endian integers, NUL-terminated strings.</summary>
    private sealed class Message
    {
        private readonly List<byte> _bytes = [];

        public Message(char type) => _bytes.Add((byte)type);

        public Message Byte(byte value)
        {
            _bytes.Add(value);
            return this;
        }

        public Message Int16(short value) => Bytes(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(value)));

        public Message Int32(int value) => Bytes(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(value)));

        public Message UInt32(uint value) => Bytes(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(value)));

        public Message UInt64(ulong value) => Bytes(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(value)));

        public Message Timestamp(DateTime utc) =>
            UInt64((ulong)((utc - new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc)).Ticks / TimeSpan.TicksPerMicrosecond));

        public Message String(string value) => Bytes(Encoding.UTF8.GetBytes(value)).Byte(0);

        public Message Bytes(byte[] value)
        {
            _bytes.AddRange(value);
            return this;
        }

        public byte[] ToArray() => [.. _bytes];
    }
}

using System.Buffers.Binary;
using System.Text;
using NpgsqlTypes;

namespace Atlas.Cdc.Reading.PgOutput;

/// <summary>
/// Reads the fields of one pgoutput message (protocol version 1) from the bytes of its XLogData: big-endian
/// integers, NUL-terminated strings and length-prefixed values, as PostgreSQL's <c>logicalrep_write_*</c> writes
/// them. A message shorter than its fields say is an error that names the message type and its LSN.
/// </summary>
internal ref struct PgOutputReader(ReadOnlySpan<byte> message, ulong walStart)
{
    private ReadOnlySpan<byte> _rest = message;

    /// <summary>The message type byte, the first of every message.</summary>
    public byte Type { get; } = message.IsEmpty ? (byte)0 : message[0];

    public ulong WalStart { get; } = walStart;

    public int Remaining => _rest.Length;

    public byte ReadByte() => Take(1)[0];

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    /// <summary>A timestamp: microseconds since 2000-01-01 UTC.</summary>
    public DateTime ReadTimestamp()
    {
        var microseconds = BinaryPrimitives.ReadInt64BigEndian(Take(8));
        return microseconds switch
        {
            long.MaxValue => DateTime.MaxValue,
            long.MinValue => DateTime.MinValue,
            _ => new DateTime(PostgresEpochTicks + microseconds * TimeSpan.TicksPerMicrosecond, DateTimeKind.Utc),
        };
    }

    /// <summary>A NUL-terminated UTF-8 string (names of schemas, tables, columns).</summary>
    public string ReadString()
    {
        var end = _rest.IndexOf((byte)0);
        if (end < 0)
            throw Malformed("a string has no terminating NUL");
        var text = Encoding.UTF8.GetString(_rest[..end]);
        _rest = _rest[(end + 1)..];
        return text;
    }

    public ReadOnlySpan<byte> Take(int length)
    {
        if (length < 0 || length > _rest.Length)
            throw Malformed($"{length} more bytes were expected, {_rest.Length} remain");
        var taken = _rest[..length];
        _rest = _rest[length..];
        return taken;
    }

    public InvalidOperationException Malformed(string what) =>
        new($"pgoutput message '{(char)Type}' at LSN {new NpgsqlLogSequenceNumber(WalStart)} is malformed: {what}.");

    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
}

using System.Buffers.Binary;
using System.Text;

namespace Atlas.Cdc.Schemas.Avro;

/// <summary>
/// A growable buffer that writes Avro's binary encoding (zig-zag varints, little-endian floats, length-prefixed
/// bytes). Reused for every event of one encoder: one array copy per message, no other allocation.
/// </summary>
internal sealed class AvroBinaryWriter
{
    private byte[] _buffer = new byte[1024];
    private int _position;

    /// <summary>Where the next byte goes; a union trial rewinds it when a branch does not fit.</summary>
    public int Position
    {
        get => _position;
        set => _position = value;
    }

    public void Reset() => _position = 0;

    public byte[] ToArray() => _buffer.AsSpan(0, _position).ToArray();

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _position);

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_position++] = value;
    }

    public void WriteBoolean(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteInt(int value) => WriteLong(value);

    /// <summary>Zig-zag, then 7 bits per byte, low-order first.</summary>
    public void WriteLong(long value)
    {
        Ensure(10);
        var n = (ulong)((value << 1) ^ (value >> 63));
        while (n >= 0x80)
        {
            _buffer[_position++] = (byte)(n | 0x80);
            n >>= 7;
        }
        _buffer[_position++] = (byte)n;
    }

    public void WriteFloat(float value)
    {
        Ensure(4);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.AsSpan(_position), value);
        _position += 4;
    }

    public void WriteDouble(double value)
    {
        Ensure(8);
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_position), value);
        _position += 8;
    }

    /// <summary>Confluent's wire format puts the schema id big-endian after the magic byte.</summary>
    public void WriteInt32BigEndian(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_position), value);
        _position += 4;
    }

    /// <summary>Avro bytes and string: a long length, then the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteLong(value.Length);
        WriteFixed(value);
    }

    public void WriteString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteLong(length);
        Ensure(length);
        _position += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position));
    }

    /// <summary>Bytes as they are: fixed values, precomputed defaults.</summary>
    public void WriteFixed(ReadOnlySpan<byte> value)
    {
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_position));
        _position += value.Length;
    }

    private void Ensure(int count)
    {
        if (_position + count <= _buffer.Length)
            return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _position + count));
    }
}

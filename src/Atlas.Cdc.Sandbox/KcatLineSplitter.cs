namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Cuts kcat's stdout into lines at the byte level (kcat escapes newlines inside JSON strings, so a raw
/// 0x0A only ever ends a message) and parses each complete line; a partial line waits for the next chunk.
/// </summary>
internal sealed class KcatLineSplitter
{
    private byte[] _pending = new byte[4096];
    private int _pendingLength;

    /// <summary>Adds a chunk of output and returns the messages completed by it.</summary>
    public List<KafkaRecord> Push(ReadOnlySpan<byte> chunk, DateTimeOffset receivedAt)
    {
        var records = new List<KafkaRecord>();
        while (!chunk.IsEmpty)
        {
            var newline = chunk.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(chunk);
                break;
            }

            if (_pendingLength == 0)
            {
                AddLine(records, chunk[..newline], receivedAt);
            }
            else
            {
                Append(chunk[..newline]);
                AddLine(records, _pending.AsSpan(0, _pendingLength), receivedAt);
                _pendingLength = 0;
            }

            chunk = chunk[(newline + 1)..];
        }

        return records;
    }

    /// <summary>Parses a final line that had no newline (kcat always ends lines, so this is normally empty).</summary>
    public List<KafkaRecord> Flush()
    {
        var records = new List<KafkaRecord>();
        AddLine(records, _pending.AsSpan(0, _pendingLength), DateTimeOffset.UtcNow);
        _pendingLength = 0;
        return records;
    }

    private static void AddLine(List<KafkaRecord> records, ReadOnlySpan<byte> line, DateTimeOffset receivedAt)
    {
        line = line.TrimEnd((byte)'\r');
        if (!line.IsEmpty)
        {
            records.Add(KcatJson.ParseRecord(line, receivedAt));
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_pendingLength + bytes.Length > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + bytes.Length));
        }

        bytes.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += bytes.Length;
    }
}

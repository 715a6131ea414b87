using System.Text;

namespace Atlas.Cdc.Replication;

/// <summary>
/// The aggregate types seen so far, as text and as UTF-8 bytes: a stream has a handful of them, and every event
/// needs both (the topic name, the <c>aggregate_type</c> header). Looking the bytes up here spares each event a
/// string decode and an encode back. Lock-free reads of an array that is replaced, never changed, on a miss.
/// </summary>
internal sealed class AggregateTypeCache
{
    /// <summary>More distinct types than this are decoded per event and not kept: a runaway generator must not grow memory.</summary>
    private const int MaxEntries = 64;

    private volatile Entry[] _entries = [];

    /// <summary>One aggregate type in both forms. The bytes are shared by every event of that type: never written to.</summary>
    public sealed record Entry(byte[] Bytes, string Text);

    public Entry Get(ReadOnlySpan<byte> utf8)
    {
        var entries = _entries;
        foreach (var entry in entries)
        {
            if (utf8.SequenceEqual(entry.Bytes))
                return entry;
        }
        var added = new Entry(utf8.ToArray(), Encoding.UTF8.GetString(utf8));
        if (entries.Length < MaxEntries)
            _entries = [.. entries, added];
        return added;
    }
}

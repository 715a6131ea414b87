using System.Text;

namespace Atlas.Cdc.Reading;

/// <summary>
/// The values of a low-cardinality column seen so far (aggregate types, event types), as text and as UTF-8 bytes:
/// a stream has a handful of them, and every event needs the bytes (a header) and, for aggregate types, the text
/// (the topic name). Looking them up here spares each event an array, a string decode and an encode back.
/// Lock-free reads of an array that is replaced, never changed, on a miss.
/// </summary>
internal sealed class Utf8TextCache
{
    /// <summary>More distinct values than this are decoded per event and not kept: a runaway generator must not grow memory.</summary>
    private const int MaxEntries = 64;

    private volatile Entry[] _entries = [];

    /// <summary>One value in both forms. The bytes are shared by every event with that value: never written to.</summary>
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

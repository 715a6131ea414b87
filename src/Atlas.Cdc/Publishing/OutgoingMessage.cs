using System.Text;
using Confluent.Kafka;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// A Kafka message as the relay hands it to librdkafka, which copies key, value and headers when it is produced.
/// The publishing loop therefore fills one instance for every event. Confluent.Kafka's <c>Message</c> and
/// <c>Headers</c> cost about ten small objects and five header-name encodings per event, and in-flight events then
/// met more collections (docs/benchmarks.md, second round, part seven).
/// </summary>
internal sealed class OutgoingMessage
{
    public byte[]? Key { get; set; }

    public byte[]? Value { get; set; }

    public Timestamp Timestamp { get; set; } = Timestamp.Default;

    public OutgoingHeaders Headers { get; } = new();

    /// <summary>Empties the message for the next event.</summary>
    public void Clear()
    {
        Key = null;
        Value = null;
        Timestamp = Timestamp.Default;
        Headers.Clear();
    }
}

/// <summary>A header's name with its UTF-8 bytes, encoded once (the relay's own names are static instances).</summary>
internal sealed class HeaderName(string text)
{
    public string Text { get; } = text;

    public byte[] Utf8 { get; } = Encoding.UTF8.GetBytes(text);

    public override string ToString() => Text;
}

/// <summary>A message's headers in order; a name may repeat, and a value may be null (a header without a value).</summary>
internal sealed class OutgoingHeaders
{
    private (HeaderName Name, byte[]? Value)[] _entries = new (HeaderName, byte[]?)[8];

    public int Count { get; private set; }

    public (HeaderName Name, byte[]? Value) this[int index] =>
        (uint)index < (uint)Count ? _entries[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public void Add(HeaderName name, byte[]? value)
    {
        if (Count == _entries.Length)
            Array.Resize(ref _entries, Count * 2);
        _entries[Count++] = (name, value);
    }

    /// <summary>Adds a header whose name is not one of the relay's own (a row header's): the name is encoded here.</summary>
    public void Add(string name, byte[]? value) => Add(new HeaderName(name), value);

    /// <summary>The value of the last header named <paramref name="name"/>, as Kafka consumers read it.</summary>
    public bool TryGetLastBytes(string name, out byte[]? value)
    {
        for (var i = Count - 1; i >= 0; i--)
        {
            if (_entries[i].Name.Text == name)
            {
                value = _entries[i].Value;
                return true;
            }
        }
        value = null;
        return false;
    }

    public void Clear()
    {
        // Drops the references too, so slots past the next event's count keep no earlier event's arrays alive.
        Array.Clear(_entries, 0, Count);
        Count = 0;
    }
}

using System.Buffers;

namespace Atlas.Cdc.Mapping;

/// <summary>
/// Turns <c>Cdc:TopicTemplate</c> into a topic per event, caching by aggregate and event type.
/// A name Kafka would reject is reported, not sent, so the event can be dead-lettered with a clear reason.
/// </summary>
internal sealed class TopicNamer
{
    public const string AggregateTypePlaceholder = "{aggregate_type}";
    public const string EventTypePlaceholder = "{event_type}";
    private const int MaxTopicLength = 249;

    private static readonly SearchValues<char> s_legalChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    private readonly string _template;
    private readonly bool _usesEventType;
    private readonly Dictionary<(string, string), TopicName> _cache = new();

    // The last aggregate type's topic when the template has no {event_type}: runs of one aggregate type skip hashing
    // the key (the decoder shares one string per aggregate type, so the comparison is mostly a reference check).
    // Replaced whole, never changed, so a reader on another thread sees a consistent pair.
    private LastTopic? _last;

    private sealed record LastTopic(string AggregateType, TopicName Topic);

    public TopicNamer(string template)
    {
        _template = template;
        _usesEventType = template.Contains(EventTypePlaceholder, StringComparison.Ordinal);
    }

    /// <summary>A topic's name and why Kafka would refuse it (or null).</summary>
    public readonly struct TopicName(string name, string? error)
    {
        public string Name { get; } = name;

        public string? Error { get; } = error;
    }

    public TopicName For(string aggregateType, ReadOnlySpan<byte> eventType)
    {
        if (!_usesEventType && _last is { } last && string.Equals(last.AggregateType, aggregateType, StringComparison.Ordinal))
            return last.Topic;
        var eventTypeText = _usesEventType ? System.Text.Encoding.UTF8.GetString(eventType) : "";
        var key = (aggregateType, eventTypeText);
        if (_cache.TryGetValue(key, out var cached))
            return Remember(aggregateType, cached);

        var name = _template
            .Replace(AggregateTypePlaceholder, aggregateType, StringComparison.Ordinal)
            .Replace(EventTypePlaceholder, eventTypeText, StringComparison.Ordinal);
        var topic = new TopicName(name, Validate(name));
        if (_cache.Count > 100_000)
            _cache.Clear(); // aggregate types are a small set; this only guards against a runaway generator
        _cache[key] = topic;
        return Remember(aggregateType, topic);
    }

    private TopicName Remember(string aggregateType, TopicName topic)
    {
        if (!_usesEventType)
            _last = new LastTopic(aggregateType, topic);
        return topic;
    }

    /// <summary>Kafka's rule for topic names; returns why the name is illegal, or null.</summary>
    public static string? Validate(string name)
    {
        if (name.Length == 0)
            return "the topic name is empty";
        if (name.Length > MaxTopicLength)
            return $"the topic name is longer than {MaxTopicLength} characters";
        if (name is "." or "..")
            return $"'{name}' is not a legal topic name";
        var bad = name.AsSpan().IndexOfAnyExcept(s_legalChars);
        return bad >= 0
            ? $"topic name '{name}' contains '{name[bad]}'; Kafka allows only ASCII letters, digits, '.', '_' and '-'"
            : null;
    }

    /// <summary>Checks the template itself at start-up with a sample value.</summary>
    public static string? ValidateTemplate(string template)
    {
        if (string.IsNullOrWhiteSpace(template))
            return "is empty";
        var sample = template.Replace(AggregateTypePlaceholder, "Order", StringComparison.Ordinal)
            .Replace(EventTypePlaceholder, "OrderPlaced", StringComparison.Ordinal);
        if (sample.Contains('{') || sample.Contains('}'))
            return $"'{template}' has an unknown placeholder; known ones are {AggregateTypePlaceholder} and {EventTypePlaceholder}";
        return Validate(sample) is { } error ? $"'{template}' gives an illegal topic: {error}" : null;
    }
}

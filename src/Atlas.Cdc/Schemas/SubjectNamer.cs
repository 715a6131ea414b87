namespace Atlas.Cdc.Schemas;

/// <summary>
/// Turns <c>Cdc:SchemaRegistry:Subject</c> into the subject of an event's value schema, cached per topic and
/// event type. The default <c>{topic}-value</c> is Confluent's TopicNameStrategy.
/// </summary>
internal sealed class SubjectNamer(string template)
{
    public const string TopicPlaceholder = "{topic}";
    public const string AggregateTypePlaceholder = "{aggregate_type}";
    public const string EventTypePlaceholder = "{event_type}";

    private readonly bool _usesEventType = template.Contains(EventTypePlaceholder, StringComparison.Ordinal);
    private readonly bool _usesAggregateType = template.Contains(AggregateTypePlaceholder, StringComparison.Ordinal);
    private readonly Dictionary<(string, string, string), string> _cache = new();

    // The last subject when the template has no {event_type}: runs of one topic skip hashing the key (topic names
    // and aggregate types are shared strings, so the comparisons are mostly reference checks). Replaced whole.
    private LastSubject? _last;

    private sealed record LastSubject(string Topic, string AggregateType, string Subject);

    public string For(string topic, string aggregateType, ReadOnlySpan<byte> eventType)
    {
        if (!_usesEventType && _last is { } last && string.Equals(last.Topic, topic, StringComparison.Ordinal)
            && string.Equals(last.AggregateType, aggregateType, StringComparison.Ordinal))
            return last.Subject;
        var eventTypeText = _usesEventType ? System.Text.Encoding.UTF8.GetString(eventType) : "";
        var key = (topic, _usesAggregateType ? aggregateType : "", eventTypeText);
        if (!_cache.TryGetValue(key, out var subject))
        {
            subject = Apply(template, topic, aggregateType, eventTypeText);
            if (_cache.Count > 100_000)
                _cache.Clear(); // a small set in practice; this only guards against a runaway generator
            _cache[key] = subject;
        }
        if (!_usesEventType)
            _last = new LastSubject(topic, aggregateType, subject);
        return subject;
    }

    public static string Apply(string template, string topic, string aggregateType, string eventType) => template
        .Replace(TopicPlaceholder, topic, StringComparison.Ordinal)
        .Replace(AggregateTypePlaceholder, aggregateType, StringComparison.Ordinal)
        .Replace(EventTypePlaceholder, eventType, StringComparison.Ordinal);

    /// <summary>Checks the template at start-up; returns what is wrong, or null.</summary>
    public static string? ValidateTemplate(string template)
    {
        if (string.IsNullOrWhiteSpace(template))
            return "is empty";
        var sample = Apply(template, "outbox.event.Order", "Order", "OrderPlaced");
        return sample.Contains('{') || sample.Contains('}')
            ? $"'{template}' has an unknown placeholder; known ones are {TopicPlaceholder}, {AggregateTypePlaceholder} and {EventTypePlaceholder}"
            : null;
    }
}

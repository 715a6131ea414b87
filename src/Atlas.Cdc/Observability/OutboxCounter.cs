using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>
/// A counter of the relay with an <c>outbox</c> label, one series per configured outbox, each exported at 0 from
/// its creation (as <see cref="RelayCounter"/>). Series are found by the outbox's position, never looked up by name.
/// </summary>
internal sealed class OutboxCounter
{
    private readonly Counter.Child[] _byOutbox;

    /// <summary>Registers the counter; <paramref name="name"/> ends in <c>_total</c>; <paramref name="outboxes"/> in catalog order.</summary>
    public OutboxCounter(CollectorRegistry registry, string name, string help, IReadOnlyList<string> outboxes)
    {
        if (!name.EndsWith("_total", StringComparison.Ordinal))
            throw new ArgumentException($"A counter's name ends in _total: {name}", nameof(name));
        var counter = MetricFactories.For(registry).CreateCounter(name, help, RelayMetrics.OutboxLabel);
        _byOutbox = [.. outboxes.Select(outbox => counter.WithLabels(outbox))];
    }

    /// <summary>Adds <paramref name="count"/> (not negative) to the series of the outbox at <paramref name="outbox"/>.</summary>
    public void Add(int outbox, long count) => _byOutbox[outbox].Inc(count);
}

using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>
/// A counter of the relay without labels, on the host's registry. Exported at 0 from its creation, so
/// <c>rate()</c> and <c>increase()</c> have a series from the first scrape and across restarts.
/// </summary>
internal sealed class RelayCounter
{
    private readonly Counter _counter;

    /// <summary>Registers the counter; <paramref name="name"/> is the exported name and ends in <c>_total</c>.</summary>
    public RelayCounter(CollectorRegistry registry, string name, string help)
    {
        if (!name.EndsWith("_total", StringComparison.Ordinal))
            throw new ArgumentException($"A counter's name ends in _total: {name}", nameof(name));
        _counter = MetricFactories.For(registry).CreateCounter(name, help);
    }

    /// <summary>Adds <paramref name="count"/> (not negative) to the counter.</summary>
    public void Add(long count) => _counter.Inc(count);
}

using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>The one way the relay creates its metrics on a host's registry.</summary>
internal static class MetricFactories
{
    /// <summary>
    /// A factory for <paramref name="registry"/> that records no exemplars: /metrics serves the Prometheus text format,
    /// which cannot carry them, and looking up the trace context on every acknowledged event showed in the profile.
    /// </summary>
    public static MetricFactory For(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        return factory;
    }
}

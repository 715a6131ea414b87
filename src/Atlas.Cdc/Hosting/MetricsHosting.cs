using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Prometheus;

namespace Atlas.Cdc.Hosting;

/// <summary>Puts the relay's metrics on a registry of the host's own and serves it at <c>/metrics</c>.</summary>
internal static class MetricsHosting
{
    /// <summary>
    /// A registry per host, not prometheus-net's static default one: a relay started several times in one process
    /// (the demo, tests) starts from zero each time, and the default registry's built-in metrics stay out.
    /// </summary>
    public static IServiceCollection AddRelayMetrics(this IServiceCollection services)
    {
        services.AddSingleton(_ => Metrics.NewCustomRegistry());
        services.AddSingleton(provider => new RelayMetrics(
            provider.GetRequiredService<CollectorRegistry>(), [.. provider.GetRequiredService<OutboxCatalog>().All.Select(o => o.Name)]));
        services.AddSingleton<SchemaMetrics>();
        services.AddSingleton<StatusGauges>();
        services.AddSingleton<ProcessMetrics>();
        services.AddSingleton<RuntimeMetrics>();
        return services;
    }

    /// <summary>
    /// Creates every metric before the relay starts, so counters are exported at 0 from the first scrape.
    /// <see cref="Hosting.StatusEndpoints"/> serves them at <c>GET /metrics</c>, always in the Prometheus text format
    /// 0.0.4, the one <c>promtool check metrics</c> checks: the relay has no exemplars, the only thing OpenMetrics would add.
    /// </summary>
    public static void CreateRelayMetrics(this IServiceProvider services)
    {
        services.GetRequiredService<RelayMetrics>();
        services.GetRequiredService<SchemaMetrics>();
        services.GetRequiredService<StatusGauges>();
        services.GetRequiredService<ProcessMetrics>();
        services.GetRequiredService<RuntimeMetrics>();
    }
}

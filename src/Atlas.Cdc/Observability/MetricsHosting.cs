using Prometheus;

namespace Atlas.Cdc.Observability;

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
        services.AddSingleton<RelayMetrics>();
        services.AddSingleton<Schemas.SchemaMetrics>();
        services.AddSingleton<StatusGauges>();
        services.AddSingleton<ProcessMetrics>();
        services.AddSingleton<RuntimeMetrics>();
        return services;
    }

    /// <summary>
    /// Creates every metric before the relay starts (counters are then exported at 0 from the first scrape) and maps
    /// <c>GET /metrics</c>. Always the Prometheus text format 0.0.4, the one <c>promtool check metrics</c> checks:
    /// the relay has no exemplars, the only thing OpenMetrics would add.
    /// </summary>
    public static void MapRelayMetrics(this WebApplication app)
    {
        var registry = app.Services.GetRequiredService<CollectorRegistry>();
        app.Services.GetRequiredService<RelayMetrics>();
        app.Services.GetRequiredService<Schemas.SchemaMetrics>();
        app.Services.GetRequiredService<StatusGauges>();
        app.Services.GetRequiredService<ProcessMetrics>();
        app.Services.GetRequiredService<RuntimeMetrics>();
        app.MapMetrics(settings =>
        {
            settings.Registry = registry;
            settings.EnableOpenMetrics = false;
        });
    }
}

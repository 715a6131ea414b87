using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Tracing;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Starts the OpenTelemetry SDK for the relay's spans when <c>Cdc:Tracing:Enabled</c> is true: the source
/// <see cref="RelayActivitySource.Name"/> and the OTLP exporter. Everything else is the SDK's own configuration from
/// the standard variables, read by the SDK itself: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>
/// (<c>grpc</c> by default, or <c>http/protobuf</c>), <c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>,
/// <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c>, <c>OTEL_BSP_*</c> for the batching. Spans are exported
/// in batches from the SDK's own thread: an exporter that cannot reach its endpoint drops spans, never events.
/// </summary>
internal static class TracingHosting
{
    /// <summary><c>service.name</c> unless <c>OTEL_SERVICE_NAME</c> or <c>OTEL_RESOURCE_ATTRIBUTES</c> names one.</summary>
    public const string DefaultServiceName = "atlas-cdc";

    /// <summary>The relay's host: the SDK starts and stops with it. Nothing is added when tracing is off.</summary>
    public static IServiceCollection AddRelayTracing(this IServiceCollection services, TracingOptions options)
    {
        if (options.Enabled)
            services.AddOpenTelemetry().WithTracing(tracing => Configure(tracing));
        return services;
    }

    /// <summary>
    /// A command that runs without the host (<c>replay</c>): its own provider, or null when tracing is off. Disposing
    /// it exports what is left.
    /// </summary>
    public static TracerProvider? StartForCommand(TracingOptions options) =>
        options.Enabled ? Configure(Sdk.CreateTracerProviderBuilder()).Build() : null;

    private static TracerProviderBuilder Configure(TracerProviderBuilder tracing) => tracing
        // The SDK's default resource with a better default name: the variables are read last, so they win.
        .ConfigureResource(resource => resource.Clear()
            .AddService(DefaultServiceName, serviceVersion: RelayMetrics.Version)
            .AddTelemetrySdk()
            .AddEnvironmentVariableDetector())
        .AddSource(RelayActivitySource.Name)
        .AddOtlpExporter();
}

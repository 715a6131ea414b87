using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Publishing;
using Microsoft.Extensions.Options;

namespace Atlas.Cdc.Hosting;

/// <summary>Wires the relay: configuration, the worker, the slot monitor, and the HTTP endpoints.</summary>
public static class RelayHost
{
    /// <summary>
    /// Runs the relay until SIGTERM/SIGINT (or <paramref name="cancellationToken"/>) and returns the process exit code:
    /// 0 after a clean drain, 2 for configuration errors, 3 when a poison event halted it by policy.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, IReadOnlyDictionary<string, string?>? overrides = null,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (overrides is not null)
            builder.Configuration.AddInMemoryCollection(overrides);

        var options = builder.Configuration.GetSection(CdcOptions.SectionName).Get<CdcOptions>() ?? new CdcOptions();
        var errors = CdcOptionsValidator.Validate(options);
        if (errors.Count > 0)
        {
            foreach (var error in errors)
                await Console.Error.WriteLineAsync($"Atlas.Cdc configuration error: {error}");
            return RelayWorker.ExitConfiguration;
        }

        NativeLibrdkafka.UseSystemLibraryWhenBundledIsMissing();
        builder.WebHost.UseUrls(options.Http.Url);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton<IOptions<CdcOptions>>(Options.Create(options));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<RelayStatus>();
        builder.Services.AddSingleton<RelayMetrics>();
        builder.Services.AddSingleton(_ => new PrometheusExporter(RelayMetrics.MeterName, "System.Runtime"));
        builder.Services.AddHostedService<RelayWorker>();
        builder.Services.AddHostedService<SlotMonitor>();
        builder.Services.AddHostedService<Retention.OutboxRetention>();

        await using var app = builder.Build();
        // Resolve the instruments and the listener before the worker starts, so no measurement is missed.
        app.Services.GetRequiredService<RelayMetrics>();
        app.Services.GetRequiredService<PrometheusExporter>();
        MapEndpoints(app);

        Environment.ExitCode = 0;
        await app.RunAsync(cancellationToken);
        return Environment.ExitCode;
    }

    private static void MapEndpoints(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (RelayStatus status) => status.IsReady(out var reason)
            ? Results.Text($"ready: {reason}\n")
            : Results.Text($"not ready: {reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/metrics", (PrometheusExporter exporter) => Results.Text(exporter.Scrape(), PrometheusExporter.ContentType));
    }
}

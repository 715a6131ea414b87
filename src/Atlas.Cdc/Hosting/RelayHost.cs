using System.Text.Encodings.Web;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Atlas.Cdc.Hosting;

/// <summary>Wires the relay on ASP.NET Core's host: configuration, the worker, the slot monitor, the HTTP endpoints and tracing.</summary>
public static class RelayHost
{
    /// <summary>
    /// Runs the relay until SIGTERM/SIGINT (or <paramref name="cancellationToken"/>) and returns the process exit code:
    /// 0 after a clean drain, 2 for configuration errors, 3 when a poison event halted it by policy.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, IReadOnlyDictionary<string, string?>? overrides = null,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // Settings are read once, at start (CdcOptionsBinder): no file watcher thread for appsettings.json changes.
            Args = [.. args, "--hostBuilder:reloadConfigOnChange=false"],
            // appsettings.json is published beside the relay's assembly: read it from there, not from whatever
            // directory the process was started in (`dotnet out/Atlas.Cdc.dll` from the repository root).
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (overrides is not null)
            builder.Configuration.AddInMemoryCollection(overrides);

        var errors = RelaySettings.Load(builder.Configuration, out var options);
        if (errors.Count > 0)
        {
            foreach (var error in errors)
                await Console.Error.WriteLineAsync(ExitCodes.FatalPrefix + error);
            return ExitCodes.Configuration;
        }

        UseConsoleLoggingOnly(builder);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton<IOptions<CdcOptions>>(Options.Create(options));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(OutboxCatalog.From(options));
        builder.Services.AddSingleton<StreamStatus>();
        builder.Services.AddSingleton<RelayStatus>();
        builder.Services.AddRelayMetrics();
        builder.Services.AddRelayTracing(options.Tracing);
        builder.AddStatusEndpoints(options);
        builder.Services.AddHostedService<RelayWorker>();
        builder.Services.AddHostedService<SlotMonitor>();
        builder.Services.AddSingleton<DeliveryProgress>();
        builder.Services.AddHostedService<ProgressRecorder>();
        builder.Services.AddHostedService<Retention.OutboxRetention>();

        await using var app = builder.Build();
        app.Services.CreateRelayMetrics();
        app.MapStatusEndpoints(options);

        Environment.ExitCode = 0;
        try
        {
            StatusEndpoints.EnsureListenable(options);
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is FatalConfigurationException or IOException)
        {
            // The port is taken: say which setting moves it. IOException: taken between the check and Kestrel's bind.
            var fatal = e as FatalConfigurationException ?? StatusEndpoints.CannotListen(options, e);
            await Console.Error.WriteLineAsync(ExitCodes.FatalPrefix + fatal.Message);
            return ExitCodes.Configuration;
        }
        await app.WaitForShutdownAsync(cancellationToken);
        return Environment.ExitCode;
    }

    /// <summary>
    /// Logs go to the console only (the host's defaults add the Debug and EventSource providers as well), in the
    /// formatter <c>Logging:Console:FormatterName</c> names: simple (appsettings.json), json or systemd, e.g.
    /// <c>Logging__Console__FormatterName=json</c> for one JSON object per line.
    /// </summary>
    private static void UseConsoleLoggingOnly(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        // The slim builder's console logger fixes the simple formatter: the configured name counts again.
        builder.Services.Configure<ConsoleLoggerOptions>(builder.Configuration.GetSection("Logging:Console"));
        // The shared timestamp format ends with a space that separates it from the level in simple lines.
        builder.Services.PostConfigure<JsonConsoleFormatterOptions>(json =>
        {
            json.TimestampFormat = json.TimestampFormat?.TrimEnd();
            // Log lines go to collectors, not into HTML: keep quotes and non-ASCII text readable.
            json.JsonWriterOptions = json.JsonWriterOptions with { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        });
    }
}

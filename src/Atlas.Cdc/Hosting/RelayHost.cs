using System.Text.Encodings.Web;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Publishing;
using Microsoft.Extensions.Logging.Console;
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
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            // appsettings.json is published beside the relay's assembly: read it from there, not from whatever
            // directory the process was started in (`dotnet out/Atlas.Cdc.dll` from the repository root).
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (overrides is not null)
            builder.Configuration.AddInMemoryCollection(overrides);

        var errors = CdcOptionsBinder.Bind(builder.Configuration, out var options).Concat(CdcOptionsValidator.Validate(options)).ToList();
        if (errors.Count > 0)
        {
            foreach (var error in errors)
                await Console.Error.WriteLineAsync(RelayWorker.FatalPrefix + error);
            return RelayWorker.ExitConfiguration;
        }

        UseConfiguredConsoleFormatter(builder);
        builder.WebHost.UseUrls(options.Http.Url);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton<IOptions<CdcOptions>>(Options.Create(options));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<RelayStatus>();
        builder.Services.AddRelayMetrics();
        builder.Services.AddHostedService<RelayWorker>();
        builder.Services.AddHostedService<SlotMonitor>();
        builder.Services.AddSingleton<Recovery.DeliveryProgress>();
        builder.Services.AddHostedService<Recovery.ProgressRecorder>();
        builder.Services.AddHostedService<Retention.OutboxRetention>();

        await using var app = builder.Build();
        MapEndpoints(app);

        Environment.ExitCode = 0;
        try
        {
            await app.RunAsync(cancellationToken);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            // The port is taken (another relay, the demo on 8080): say which setting moves it, not a stack trace.
            await Console.Error.WriteLineAsync(
                $"{RelayWorker.FatalPrefix}Cdc:Http:Url (env Cdc__Http__Url) '{options.Http.Url}' cannot be listened on: {e.Message} Choose a free port.");
            return RelayWorker.ExitConfiguration;
        }
        return Environment.ExitCode;
    }

    /// <summary>
    /// CreateSlimBuilder pins the console formatter to "simple", which would ignore
    /// <c>Logging:Console:FormatterName</c>; honour it (simple, json or systemd), e.g.
    /// <c>Logging__Console__FormatterName=json</c> for one JSON object per line.
    /// </summary>
    private static void UseConfiguredConsoleFormatter(WebApplicationBuilder builder)
    {
        if (builder.Configuration["Logging:Console:FormatterName"] is not { Length: > 0 } formatter)
            return;
        builder.Logging.AddConsole();
        builder.Services.Configure<ConsoleLoggerOptions>(console => console.FormatterName = formatter);
        // The shared timestamp format ends with a space that separates it from the level in simple lines.
        builder.Services.PostConfigure<JsonConsoleFormatterOptions>(json =>
        {
            json.TimestampFormat = json.TimestampFormat?.TrimEnd();
            // Log lines go to collectors, not into HTML: keep quotes and non-ASCII text readable.
            json.JsonWriterOptions = json.JsonWriterOptions with { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        });
    }

    /// <summary>
    /// Plain request delegates, not minimal-API handlers: those are compiled from expression trees at start-up,
    /// which loaded System.Linq.Expressions and the JIT's work into every relay's memory for two one-line answers.
    /// </summary>
    private static void MapEndpoints(WebApplication app)
    {
        var status = app.Services.GetRequiredService<RelayStatus>();
        app.MapGet("/healthz", context => PlainTextAsync(context, StatusCodes.Status200OK, "ok\n"));
        app.MapGet("/readyz", context => status.IsReady(out var reason)
            ? PlainTextAsync(context, StatusCodes.Status200OK, $"ready: {reason}\n")
            : PlainTextAsync(context, StatusCodes.Status503ServiceUnavailable, $"not ready: {reason}\n"));
        app.MapRelayMetrics();
    }

    private static Task PlainTextAsync(HttpContext context, int statusCode, string text)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }
}

using System.Net.Sockets;
using System.Text;
using Atlas.Cdc.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// <c>GET /healthz</c>, <c>/readyz</c> and <c>/metrics</c> (HEAD too) on Kestrel, at the address of <c>Cdc:Http:Url</c>:
/// health checks tagged <c>live</c> and <c>ready</c>, and prometheus-net's exporter on the host's registry.
/// </summary>
internal static class StatusEndpoints
{
    private const string Live = "live";
    private const string Ready = "ready";
    private const string TextContentType = "text/plain; charset=utf-8";
    private static readonly string[] s_methods = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>Kestrel on the one address the setting names, and the two health checks.</summary>
    public static void AddStatusEndpoints(this WebApplicationBuilder builder, CdcOptions options)
    {
        // The validator has accepted the URL before this runs.
        if (!HttpListenAddress.TryParse(options.Http.Url, out var address, out var error))
            throw new FatalConfigurationException(error);
        // Cdc:Http:Url is the one address. The aspnet image sets ASPNETCORE_HTTP_PORTS=8080, which Kestrel would
        // otherwise warn at every start that it ignores (an operator's ASPNETCORE_URLS still gets that warning).
        builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, "");
        builder.WebHost.UseSetting(WebHostDefaults.HttpsPortsKey, "");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address.EndPoint);
            kestrel.AddServerHeader = false;
            // Probes and Prometheus send small requests: a larger head is refused (431), a slow one dropped.
            kestrel.Limits.MaxRequestHeadersTotalSize = 8 * 1024;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        });
        builder.Services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("ok"), tags: [Live])
            .AddCheck<ReadinessHealthCheck>("relay", tags: [Ready]);
    }

    /// <summary>
    /// Fails with the setting named when the address cannot be listened on (another relay, the demo on 8080). Kestrel
    /// binds only after the relay's own services have started, and its failure is logged with a stack trace: this
    /// check, just before the host starts, ends the relay with one line before it reads anything.
    /// </summary>
    public static void EnsureListenable(CdcOptions options)
    {
        if (!HttpListenAddress.TryParse(options.Http.Url, out var address, out var error))
            throw new FatalConfigurationException(error);
        using var probe = new Socket(address.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.EndPoint.AddressFamily == AddressFamily.InterNetworkV6)
                probe.DualMode = true; // as Kestrel binds [::]
            probe.Bind(address.EndPoint);
            probe.Listen();
        }
        catch (SocketException e)
        {
            throw CannotListen(options, e);
        }
    }

    public static FatalConfigurationException CannotListen(CdcOptions options, Exception e) =>
        new($"Cdc:Http:Url (env Cdc__Http__Url) '{options.Http.Url}' cannot be listened on: {e.GetBaseException().Message}. Choose a free port.", e);

    /// <summary>Maps the three endpoints; any other path answers 404 naming them, any other method 405.</summary>
    public static void MapStatusEndpoints(this WebApplication app, CdcOptions options)
    {
        if (HttpListenAddress.TryParse(options.Http.Url, out var address, out _) && address.AnyInterfaceForHostName)
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StatusEndpoints))
                .LogWarning("Cdc:Http:Url '{Url}' names a host, not an address: listening on every interface", options.Http.Url);

        app.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Live),
            ResponseWriter = (context, report) => WriteTextAsync(context.Response,
                report.Status == HealthStatus.Healthy ? "ok\n" : $"not ok: {Reasons(report)}\n"),
        }).WithMetadata(new HttpMethodMetadata(s_methods));

        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Ready),
            ResponseWriter = (context, report) => WriteTextAsync(context.Response,
                report.Status == HealthStatus.Healthy ? $"ready: {Reasons(report)}\n" : $"not ready: {Reasons(report)}\n"),
        }).WithMetadata(new HttpMethodMetadata(s_methods));

        // Always the Prometheus text format 0.0.4, the one promtool checks, also to a client that prefers OpenMetrics:
        // the relay has no exemplars, the only thing OpenMetrics would add.
        var registry = app.Services.GetRequiredService<CollectorRegistry>();
        app.MapMetrics(settings =>
        {
            settings.Registry = registry;
            settings.EnableOpenMetrics = false;
        }).WithMetadata(new HttpMethodMetadata(s_methods));

        app.MapFallback(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return WriteTextAsync(context.Response, "not found: the relay serves /healthz, /readyz and /metrics\n");
        }).WithMetadata(new HttpMethodMetadata(s_methods));
    }

    private static string Reasons(HealthReport report) =>
        string.Join("; ", report.Entries.Values.Select(entry => entry.Description ?? entry.Status.ToString()));

    private static Task WriteTextAsync(HttpResponse response, string text)
    {
        var body = Encoding.UTF8.GetBytes(text);
        response.ContentType = TextContentType;
        response.ContentLength = body.Length; // HEAD answers carry it too
        return response.Body.WriteAsync(body).AsTask();
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Atlas.Cdc.Sandbox;

/// <summary>The sandbox's small HTTP servers (schema registry stand-in, OTLP receiver): Kestrel on 127.0.0.1, no logs.</summary>
internal static class LocalWebApp
{
    /// <summary>Starts an app with the endpoints <paramref name="map"/> adds, on <paramref name="port"/> (0: a free one); returns it and its base URL.</summary>
    public static async Task<(WebApplication App, string Url)> StartAsync(int port, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return (app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

/// <summary>
/// The real relay host (<see cref="RelayHost.RunAsync"/>) in this process, listening on a free loopback port, with
/// PostgreSQL and Kafka addresses where nothing answers: it keeps reconnecting, and its HTTP endpoints serve.
/// </summary>
public sealed class RunningRelayHost : IAsyncLifetime
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();
    private Task<int> _run = Task.FromResult(0);

    public IPEndPoint EndPoint { get; } = new(IPAddress.Loopback, FreePort());

    public string Url => $"http://{EndPoint}";

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Settings for a relay that cannot reach PostgreSQL or Kafka, listening on <paramref name="url"/>.</summary>
    public static Dictionary<string, string?> Settings(string url) => new()
    {
        ["Cdc:Postgres:ConnectionString"] = $"Host=127.0.0.1;Port={FreePort()};Database=app;Username=atlas_cdc_relay",
        ["Cdc:Kafka:BootstrapServers"] = $"127.0.0.1:{FreePort()}",
        ["Cdc:Http:Url"] = url,
        ["Logging:LogLevel:Default"] = "None",
        ["Logging:LogLevel:Npgsql"] = "None",
    };

    /// <summary>A port free at the time of the call (bound on port 0, then released).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task InitializeAsync()
    {
        _run = RelayHost.RunAsync([], Settings(Url), _stop.Token);
        Http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(10) };
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (_run.IsCompleted)
                throw new InvalidOperationException($"the relay host ended with exit code {await _run} before it served {Url}/healthz");
            try
            {
                using var response = await Http.GetAsync("/healthz");
                return;
            }
            catch (HttpRequestException) when (stopwatch.Elapsed < s_deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Stops the host as SIGTERM would and returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await _run.WaitAsync(s_deadline);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await StopAsync();
        _stop.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

/// <summary>/healthz, /readyz and /metrics of the real relay host on Kestrel, over real sockets, with real HTTP clients.</summary>
public sealed class StatusEndpointsTests(RunningRelayHost relay) : IClassFixture<RunningRelayHost>
{
    private readonly HttpClient _http = relay.Http;

    [Fact]
    public async Task Metrics_are_served_in_the_prometheus_text_format_also_to_a_client_that_prefers_openmetrics()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE atlas_cdc_events_dead_lettered_total counter\natlas_cdc_events_dead_lettered_total{outbox=\"default\"} 0\n", body, StringComparison.Ordinal);
        Assert.DoesNotContain("# EOF", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_ok_and_readiness_says_why_not()
    {
        using var health = await _http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", health.Content.Headers.ContentType!.ToString());
        Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());

        // PostgreSQL cannot be reached: the relay is starting or reconnecting, never streaming.
        using var ready = await _http.GetAsync("/readyz?verbose=1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Matches("^not ready: stream state is (starting|reconnecting)\n$", await ready.Content.ReadAsStringAsync());
        Assert.Contains("no-store", ready.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_paths_other_methods_and_head_requests_get_their_proper_answers()
    {
        using var missing = await _http.GetAsync("/metrics/extra");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("not found: the relay serves /healthz, /readyz and /metrics\n", await missing.Content.ReadAsStringAsync());

        foreach (var path in new[] { "/metrics", "/healthz", "/readyz", "/elsewhere" })
        {
            using var post = await _http.PostAsync(path, new StringContent("x"));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
            Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow.Order());
        }

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/healthz"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(3, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        using var headMetrics = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, headMetrics.StatusCode);
        Assert.Empty(await headMetrics.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_request_head_over_8_KiB_is_refused_and_a_malformed_one_is_a_bad_request()
    {
        var huge = $"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: {new string('a', 9000)}\r\n\r\n";
        Assert.StartsWith("HTTP/1.1 431 ", await RawAsync(huge), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await RawAsync("HELLO\r\n\r\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Many_clients_at_once_are_all_answered()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => _http.GetStringAsync("/healthz")));

        Assert.All(answers, answer => Assert.Equal("ok\n", answer));
    }

    [Fact]
    public async Task A_client_that_sends_half_a_request_does_not_block_the_others()
    {
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await stalled.ConnectAsync(relay.EndPoint);
        await stalled.SendAsync("GET /metrics HTTP/1.1\r\n"u8.ToArray(), SocketFlags.None);

        Assert.Equal("ok\n", await _http.GetStringAsync("/healthz"));
    }

    [Fact]
    public async Task A_port_already_taken_ends_the_relay_with_exit_code_2_naming_the_setting()
    {
        var error = Assert.Throws<FatalConfigurationException>(
            () => StatusEndpoints.EnsureListenable(new CdcOptions { Http = new HttpOptions { Url = relay.Url } }));
        Assert.Equal($"Cdc:Http:Url (env Cdc__Http__Url) '{relay.Url}' cannot be listened on: Address already in use. Choose a free port.", error.Message);

        var exitCode = await RelayHost.RunAsync([], RunningRelayHost.Settings(relay.Url)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, exitCode);
        Assert.Equal("ok\n", await _http.GetStringAsync("/healthz")); // the relay that holds the port is unharmed
    }

    private async Task<string> RawAsync(string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(relay.EndPoint);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
        using var reader = new StreamReader(new NetworkStream(socket, ownsSocket: false), Encoding.ASCII);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }
}

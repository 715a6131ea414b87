using System.Net;
using System.Net.Sockets;
using System.Text;
using Atlas.Cdc;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Schemas;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Atlas.Cdc.UnitTests;

/// <summary>The relay's own HTTP endpoints, over real sockets, with real HTTP clients.</summary>
public sealed class StatusHttpServerTests : IAsyncLifetime
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly RelayStatus _status = new(new CdcOptions(), new StreamStatus());
    private StatusHttpServer _server = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        Metrics.WithCustomRegistry(_registry).CreateCounter("atlas_cdc_test_total", "A test counter.").Inc(3);
        _server = Start("http://127.0.0.1:0");
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_server.LocalEndPoint!.Port}") };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.StopAsync(CancellationToken.None);
        _server.Dispose();
    }

    [Fact]
    public async Task Metrics_are_served_in_the_prometheus_text_format()
    {
        using var response = await _http.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(StatusHttpServer.MetricsContentType, response.Content.Headers.ContentType!.ToString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE atlas_cdc_test_total counter\natlas_cdc_test_total 3\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_ok_and_readiness_says_why_not()
    {
        Assert.Equal("ok\n", await _http.GetStringAsync("/healthz"));

        using var ready = await _http.GetAsync("/readyz?verbose=1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.StartsWith("not ready: ", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_paths_other_methods_and_head_requests_get_their_proper_answers()
    {
        using var missing = await _http.GetAsync("/metrics/extra");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using var post = await _http.PostAsync("/metrics", new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow.Order());

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/healthz"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(3, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
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
        await stalled.ConnectAsync(_server.LocalEndPoint!);
        await stalled.SendAsync("GET /metrics HTTP/1.1\r\n"u8.ToArray(), SocketFlags.None);

        Assert.Equal("ok\n", await _http.GetStringAsync("/healthz"));
    }

    [Fact]
    public void A_port_already_taken_is_a_fatal_configuration_error_naming_the_setting()
    {
        var url = $"http://127.0.0.1:{_server.LocalEndPoint!.Port}";

        var error = Assert.Throws<FatalConfigurationException>(() => Start(url));

        Assert.Contains($"Cdc:Http:Url (env Cdc__Http__Url) '{url}' cannot be listened on", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopping_and_disposing_twice_is_harmless_as_the_host_does_it()
    {
        var server = Start("http://127.0.0.1:0");
        await server.StopAsync(CancellationToken.None);
        server.Dispose();
        server.Dispose();
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080", "0.0.0.0:8080", false)]
    [InlineData("http://*:9090", "0.0.0.0:9090", false)]
    [InlineData("http://+:9090", "0.0.0.0:9090", false)]
    [InlineData("http://127.0.0.1:0", "127.0.0.1:0", false)]
    [InlineData("http://[::]:8080", "[::]:8080", false)]
    [InlineData("http://localhost:8080", "127.0.0.1:8080", false)]
    [InlineData("http://relay.internal:8080", "0.0.0.0:8080", true)]
    [InlineData("http://0.0.0.0", "0.0.0.0:80", false)]
    public void Listen_addresses_are_read_as_kestrel_read_them(string url, string endPoint, bool anyForHostName)
    {
        Assert.True(HttpListenAddress.TryParse(url, out var address, out var error), error);
        Assert.Equal(endPoint, address.EndPoint.ToString());
        Assert.Equal(anyForHostName, address.AnyInterfaceForHostName);
    }

    [Theory]
    [InlineData("https://0.0.0.0:8443")]
    [InlineData("0.0.0.0:8080")]
    [InlineData("http://0.0.0.0:8080/metrics")]
    [InlineData("")]
    public void Other_urls_are_refused_with_the_setting_named(string url)
    {
        Assert.False(HttpListenAddress.TryParse(url, out _, out var error));
        Assert.StartsWith($"Cdc:Http:Url (env Cdc__Http__Url) '{url}' is not a URL such as http://0.0.0.0:8080", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_url_with_user_information_is_refused_without_repeating_it()
    {
        Assert.False(HttpListenAddress.TryParse("http://user:secret@0.0.0.0:8080", out _, out var error));
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
        Assert.StartsWith("Cdc:Http:Url (env Cdc__Http__Url) (with user information, not shown) is not a URL", error, StringComparison.Ordinal);
    }

    private StatusHttpServer Start(string url)
    {
        var server = new StatusHttpServer(new CdcOptions { Http = new HttpOptions { Url = url } }, _status, _registry,
            NullLogger<StatusHttpServer>.Instance);
        server.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return server;
    }

    private async Task<string> RawAsync(string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_server.LocalEndPoint!);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
        using var reader = new StreamReader(new NetworkStream(socket, ownsSocket: false), Encoding.ASCII);
        return await reader.ReadToEndAsync();
    }
}

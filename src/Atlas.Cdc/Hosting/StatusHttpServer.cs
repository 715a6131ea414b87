using System.Net;
using System.Net.Sockets;
using System.Text;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Schemas;
using Prometheus;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Serves <c>GET /healthz</c>, <c>/readyz</c> and <c>/metrics</c> (HEAD too) over HTTP/1.1 on a plain socket, one
/// request per connection, on the address of <c>Cdc:Http:Url</c>.
/// </summary>
/// <remarks>
/// Why not Kestrel: for three GET endpoints ASP.NET Core was 43 assemblies, 15 MiB of the idle relay's 89 MiB resident
/// set and 0.1-0.2 s of every start's CPU (docs/benchmarks.md, "Second round, part four"). Probes and Prometheus need
/// no more than this: a request head of up to 8 KiB within 10 s, an answer with Content-Length, then the
/// connection closes. At most 16 requests are served at once; further connections wait in the listen backlog.
/// </remarks>
internal sealed class StatusHttpServer(CdcOptions options, RelayStatus status, CollectorRegistry registry,
    ILogger<StatusHttpServer> logger) : IHostedService, IDisposable
{
    public const string MetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
    private const int MaxRequestHeadBytes = 8 * 1024;
    private const int MaxConcurrentRequests = 16;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] EndOfHead = "\r\n\r\n"u8.ToArray();

    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _slots = new(MaxConcurrentRequests);
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;
    private int _disposed;

    /// <summary>The bound address (the port is the OS's choice when the URL says 0).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>
    /// Takes the port. <see cref="RelayHost"/> calls it before the host starts, so a port already taken ends the relay
    /// with one fatal line and exit code 2 before it reads anything.
    /// </summary>
    public void Bind()
    {
        if (_listener is not null)
            return;
        if (!HttpListenAddress.TryParse(options.Http.Url, out var address, out var error))
            throw new FatalConfigurationException(error);
        var listener = new Socket(address.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.EndPoint.AddressFamily == AddressFamily.InterNetworkV6)
                listener.DualMode = true;
            listener.Bind(address.EndPoint);
            listener.Listen(128);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new FatalConfigurationException(
                $"Cdc:Http:Url (env Cdc__Http__Url) '{options.Http.Url}' cannot be listened on: {e.Message}. Choose a free port.", e);
        }
        if (address.AnyInterfaceForHostName)
            logger.LogWarning("Cdc:Http:Url '{Url}' names a host, not an address: listening on every interface", options.Http.Url);
        _listener = listener;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Bind();
        _accepting = AcceptAsync(_listener!, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _listener?.Dispose();
        await _accepting.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Idempotent: the container disposes this instance twice, as the singleton and as the hosted service.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _stopping.Cancel();
        _listener?.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptAsync(Socket listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                await _slots.WaitAsync(stopping);
                connection = await listener.AcceptAsync(stopping);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of descriptors and the like: say so, and do not spin on it.
                _slots.Release();
                logger.LogWarning("Accepting an HTTP connection on {Url} failed: {Reason}", options.Http.Url, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            _ = ServeAsync(connection, stopping);
        }
    }

    private async Task ServeAsync(Socket connection, CancellationToken stopping)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(RequestTimeout);
            var (closed, head) = await ReadRequestHeadAsync(connection, timeout.Token);
            if (closed)
                return; // closed before a whole request head: nothing to answer
            var response = head is null
                ? Response.Text(431, "request head larger than 8 KiB\n")
                : await RespondAsync(head, timeout.Token);
            await connection.SendAsync(response.Encode(), SocketFlags.None, timeout.Token);
            connection.Shutdown(SocketShutdown.Send);
            if (head is null)
                await DiscardUnreadAsync(connection, timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // A client that went away or stalled, or the relay stopping: nothing to tell anyone.
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "An HTTP request to {Url} failed", options.Http.Url);
        }
        finally
        {
            connection.Dispose();
            _slots.Release();
        }
    }

    /// <summary>The request head as text (null when it does not fit), or Closed when the client went away first.</summary>
    private static async Task<(bool Closed, string? Head)> ReadRequestHeadAsync(Socket connection, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestHeadBytes];
        var count = 0;
        while (true)
        {
            var end = buffer.AsSpan(0, count).IndexOf(EndOfHead);
            if (end >= 0)
                return (false, Encoding.Latin1.GetString(buffer, 0, end));
            if (count == buffer.Length)
                return (false, null);
            var read = await connection.ReceiveAsync(buffer.AsMemory(count), SocketFlags.None, cancellationToken);
            if (read == 0)
                return (true, null);
            count += read;
        }
    }

    /// <summary>
    /// Closing with unread bytes sends a reset, which can destroy the answer before the client reads it: read the
    /// rest of an oversized request (within the request timeout) until the client closes.
    /// </summary>
    private static async Task DiscardUnreadAsync(Socket connection, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        while (await connection.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) > 0)
        {
        }
    }

    private async Task<Response> RespondAsync(string head, CancellationToken cancellationToken)
    {
        // Request line: METHOD SP target SP HTTP/1.x. The headers that follow change no answer.
        var parts = head.Split("\r\n", 2)[0].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || !parts[1].StartsWith('/'))
            return Response.Text(400, "malformed request line\n");
        var method = parts[0];
        if (method is not ("GET" or "HEAD"))
            return Response.Text(405, "only GET and HEAD\n") with { Allow = "GET, HEAD" };
        var path = parts[1].Split('?', 2)[0];
        var response = path switch
        {
            "/healthz" => Response.Text(200, "ok\n"),
            "/readyz" => status.IsReady(out var reason)
                ? Response.Text(200, $"ready: {reason}\n")
                : Response.Text(503, $"not ready: {reason}\n"),
            "/metrics" => await MetricsAsync(cancellationToken),
            _ => Response.Text(404, "not found: the relay serves /healthz, /readyz and /metrics\n"),
        };
        return method == "HEAD" ? response with { OmitBody = true } : response;
    }

    private async Task<Response> MetricsAsync(CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        try
        {
            await registry.CollectAndExportAsTextAsync(body, ExpositionFormat.PrometheusText, cancellationToken);
        }
        catch (ScrapeFailedException e)
        {
            return Response.Text(503, $"scrape failed: {e.Message}\n");
        }
        return new Response(200, MetricsContentType, body.ToArray());
    }

    private sealed record Response(int Status, string ContentType, byte[] Body)
    {
        public string? Allow { get; init; }

        public bool OmitBody { get; init; }

        public static Response Text(int status, string text) => new(status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text));

        public byte[] Encode()
        {
            var head = new StringBuilder()
                .Append("HTTP/1.1 ").Append(Status).Append(' ').Append(ReasonPhrase(Status)).Append("\r\n")
                .Append("Content-Type: ").Append(ContentType).Append("\r\n")
                .Append("Content-Length: ").Append(Body.Length).Append("\r\n")
                .Append(Allow is null ? "" : $"Allow: {Allow}\r\n")
                .Append("Cache-Control: no-store\r\n")
                .Append("Connection: close\r\n\r\n")
                .ToString();
            var headBytes = Encoding.ASCII.GetBytes(head);
            return OmitBody ? headBytes : [.. headBytes, .. Body];
        }

        private static string ReasonPhrase(int status) => status switch
        {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Status",
        };
    }
}

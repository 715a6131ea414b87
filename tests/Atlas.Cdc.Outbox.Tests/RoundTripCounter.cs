using System.Net;
using System.Net.Sockets;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>
/// A TCP relay between one client and PostgreSQL that counts round trips: each time the server answers after the
/// client has sent something, that is one. A batch written whole and answered once counts 1; N statements each
/// awaiting its answer count N.
/// </summary>
public sealed class RoundTripCounter : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _serverPort;
    private readonly Lock _lock = new();
    private Task _relay = Task.CompletedTask;
    private bool _clientSpokeLast;
    private int _roundTrips;

    public RoundTripCounter(int serverPort)
    {
        _serverPort = serverPort;
        _listener.Start();
        _relay = RelayOneConnectionAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int RoundTrips
    {
        get
        {
            lock (_lock)
                return _roundTrips;
        }
    }

    public void Reset()
    {
        lock (_lock)
            _roundTrips = 0;
    }

    private async Task RelayOneConnectionAsync()
    {
        using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
        using var server = new TcpClient();
        await server.ConnectAsync(IPAddress.Loopback, _serverPort, _stop.Token);
        client.NoDelay = server.NoDelay = true;
        await Task.WhenAny(
            PumpAsync(client.GetStream(), server.GetStream(), fromClient: true),
            PumpAsync(server.GetStream(), client.GetStream(), fromClient: false));
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool fromClient)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                lock (_lock)
                {
                    if (!fromClient && _clientSpokeLast)
                        _roundTrips++;
                    _clientSpokeLast = fromClient;
                }
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection or the test ended.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _relay;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        _stop.Dispose();
    }
}

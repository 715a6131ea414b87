using System.Net;
using System.Net.Sockets;

namespace Atlas.Cdc.Sandbox;

/// <summary>Free TCP ports on 127.0.0.1, for servers the sandbox starts (PostgreSQL, the relay's HTTP, Prometheus).</summary>
public static class FreePort
{
    /// <summary>
    /// A port free at the time of the call: bound on port 0, then released. Another process can take it before the
    /// caller binds it, so a caller that can tell "address in use" apart retries with a new port.
    /// </summary>
    public static int Find()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

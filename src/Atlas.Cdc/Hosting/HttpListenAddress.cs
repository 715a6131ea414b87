using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Where <c>Cdc:Http:Url</c> says to listen, read the way Kestrel read it before: an IP address is bound as given;
/// <c>*</c>, <c>+</c> and <c>0.0.0.0</c> mean every IPv4 interface, <c>[::]</c> every interface; <c>localhost</c>
/// is the loopback; another host name means every interface (with a warning). Only <c>http</c>: the endpoints carry
/// no secrets, and TLS belongs to the proxy or mesh in front.
/// </summary>
internal sealed record HttpListenAddress(IPEndPoint EndPoint, bool AnyInterfaceForHostName)
{
    public static bool TryParse(string url, [NotNullWhen(true)] out HttpListenAddress? address, [NotNullWhen(false)] out string? error)
    {
        address = null;
        // A URL with user information may carry a password: it is never repeated.
        var shown = url.Contains('@', StringComparison.Ordinal) ? "(with user information, not shown)" : $"'{url}'";
        error = $"Cdc:Http:Url (env Cdc__Http__Url) {shown} is not a URL such as http://0.0.0.0:8080 (http, an address or host name, a port).";
        // Kestrel's wildcards are no host names to System.Uri.
        var wildcard = url.StartsWith("http://*:", StringComparison.Ordinal) || url.StartsWith("http://+:", StringComparison.Ordinal);
        var parsable = wildcard ? "http://0.0.0.0:" + url["http://*:".Length..] : url;
        if (!Uri.TryCreate(parsable, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
            return false;

        var anyForHostName = false;
        IPAddress ip;
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
            ip = IPAddress.Parse(uri.DnsSafeHost);
        else if (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            ip = IPAddress.Loopback;
        else
        {
            ip = IPAddress.Any;
            anyForHostName = true;
        }
        address = new HttpListenAddress(new IPEndPoint(ip, uri.Port), anyForHostName);
        error = null;
        return true;
    }
}

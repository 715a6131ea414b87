using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

/// <summary>How <c>Cdc:Http:Url</c> is read into the address Kestrel listens on.</summary>
public class HttpListenAddressTests
{
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
}

using System.Net.Sockets;

namespace Atlas.Cdc.UnitTests;

/// <summary>The relay host started and stopped in this process, as the demo and the command line run it.</summary>
public class RelayHostLifetimeTests
{
    [Fact]
    public async Task Stopping_the_host_returns_exit_code_0_and_frees_the_port()
    {
        var relay = new RunningRelayHost();
        await relay.InitializeAsync();
        Assert.Equal("ok\n", await relay.Http.GetStringAsync("/healthz"));

        Assert.Equal(0, await relay.StopAsync());

        using var again = new TcpListener(relay.EndPoint);
        again.Start(); // throws if Kestrel still held it
        await relay.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Atlas.Cdc.Sandbox;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Transient failures are retried after Cdc:ReconnectDelay, doubling each time up to Cdc:ReconnectMaxDelay.</summary>
[Collection(CdcCollection.Name)]
public partial class ReconnectBackoffTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Reconnect_delay_doubles_from_reconnect_delay_up_to_reconnect_max_delay()
    {
        await using var scenario = await environment.CreateScenarioAsync("backoff");
        // Nothing listens on this port: every attempt is refused, a transient failure.
        var relay = scenario.StartRelay(new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = $"Host=127.0.0.1;Port={FreePort.Find()};Username=atlas_cdc_relay;Database={scenario.Database}",
            ["Cdc__ReconnectDelay"] = "00:00:00.200",
            ["Cdc__ReconnectMaxDelay"] = "00:00:01.600",
        });
        var stopwatch = Stopwatch.StartNew();
        List<TimeSpan> delays;
        while ((delays = Delays(relay.Output)).Count < 7)
        {
            Assert.False(relay.HasExited, $"connection refused must not be fatal:\n{relay.Output}");
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"only {delays.Count} reconnects in 30 s:\n{relay.Output}");
            await Task.Delay(50);
        }
        var elapsed = stopwatch.Elapsed;
        await relay.DisposeAsync();

        output.WriteLine($"delays {string.Join(", ", delays.Select(d => d.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)))} s; 7 attempts in {elapsed.TotalSeconds:F1} s");
        Assert.Equal(new[] { 0.2, 0.4, 0.8, 1.6, 1.6, 1.6, 1.6 }, delays.Take(7).Select(d => d.TotalSeconds));
        // The relay really waited: the first six delays (6.2 s) passed before the seventh attempt failed.
        Assert.True(elapsed >= TimeSpan.FromSeconds(6.2), $"seven attempts took only {elapsed}");
    }

    /// <summary>The delays as the relay logs them, in people's units (Durations.Format): "200 ms", "1.6 s".</summary>
    private static List<TimeSpan> Delays(string output) =>
        [.. ReconnectingIn().Matches(output).Select(m =>
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return m.Groups[2].Value == "ms" ? TimeSpan.FromMilliseconds(value) : TimeSpan.FromSeconds(value);
        })];

    [GeneratedRegex(@"Reconnecting in (\d+(?:\.\d+)?) (ms|s)\b")]
    private static partial Regex ReconnectingIn();
}

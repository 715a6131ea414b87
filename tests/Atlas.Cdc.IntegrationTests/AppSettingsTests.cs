using System.Text.RegularExpressions;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>The relay reads the appsettings.json published beside it, whatever directory it is started from.</summary>
[Collection(CdcCollection.Name)]
public partial class AppSettingsTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Relay_started_from_another_directory_reads_its_own_appsettings_json()
    {
        await using var scenario = await environment.CreateScenarioAsync("contentroot");
        // The directory it is started from holds an appsettings.json of its own, asking for JSON logs.
        var elsewhere = Directory.CreateTempSubdirectory("atlas-cdc-cwd-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(elsewhere.FullName, "appsettings.json"),
                """{ "Logging": { "Console": { "FormatterName": "json" } } }""");
            await using var relay = RelayProcess.Start(scenario.RelaySettings(), workingDirectory: elsewhere.FullName);
            await relay.WaitUntilReadyAsync();

            // The relay's own appsettings.json: simple, single-line, with a UTC timestamp. Without it, the console
            // logger writes "info: Category[0]" with the message on a second line; with the other one, JSON.
            var line = relay.Output.Split('\n').FirstOrDefault(l => l.Contains("Relaying inserts on", StringComparison.Ordinal));
            Assert.True(line is not null, "the relay never logged its start line:\n" + relay.Output);
            Assert.True(OwnFormat().IsMatch(line), $"not the format of the relay's appsettings.json (simple, single line, UTC timestamp): {line}");
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: Atlas\.Cdc\.Hosting\.RelayWorker\[0\] Relaying inserts on ")]
    private static partial Regex OwnFormat();
}

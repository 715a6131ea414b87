using System.Text.RegularExpressions;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The relay started as README documents (<c>dotnet Atlas.Cdc.dll</c>, no GC variable) replaces itself once to run with a
/// 4 MiB gen0 budget, keeping its process id; an operator's own value is left alone.
/// </summary>
[Collection(CdcCollection.Name)]
public class Gen0BudgetTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Relay_started_without_the_variable_runs_with_a_4_MiB_gen0_budget_under_the_same_process_id()
    {
        await using var scenario = await environment.CreateScenarioAsync("gen0");
        await using var relay = await scenario.StartReadyRelayAsync();

        // The id is the one the test started: execve replaced the image, not the process.
        var variables = EnvironmentOf(relay.ProcessId);
        Assert.True(variables.Contains($"{Gen0Budget.Variable}={Gen0Budget.Value}"),
            $"relay {relay.ProcessId} runs without {Gen0Budget.Variable}={Gen0Budget.Value}; its GC variables: {string.Join(", ", variables.Where(v => v.Contains("GC", StringComparison.Ordinal)))}");
        // Replaced through the executable's own path: ps, top and pgrep still show the process by its name.
        Assert.Equal("dotnet", File.ReadAllText($"/proc/{relay.ProcessId}/comm").Trim());
        var budget = Regex.Match(relay.Output, @"GC gen0 budget at most (\d+) KiB \(DOTNET_GCgen0size=0x400000\)");
        Assert.True(budget.Success, $"no gen0 budget line with the relay's value in:\n{relay.Output}");
        // With the variable the runtime's largest gen0 budget is 6 MiB; its own default here is 52 MiB (cache-sized).
        Assert.True(int.Parse(budget.Groups[1].Value) <= 6 * 1024, $"gen0 budget {budget.Groups[1].Value} KiB");

        var ids = await scenario.InsertAsync(new OutboxRow("Order", "order-1", "Placed", """{"total": 1}"""));
        await scenario.WaitForEventsAsync([scenario.Topic("Order")], ids);
    }

    [Fact]
    public async Task Operator_s_own_value_wins_and_0_keeps_the_runtime_s_default()
    {
        await using var scenario = await environment.CreateScenarioAsync("gen0own");
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { [Gen0Budget.Variable] = "0" });

        var variables = EnvironmentOf(relay.ProcessId);
        Assert.Contains($"{Gen0Budget.Variable}=0", variables);
        Assert.DoesNotContain($"{Gen0Budget.Variable}={Gen0Budget.Value}", variables);
        Assert.Contains("(DOTNET_GCgen0size=0)", relay.Output);
    }

    private static string[] EnvironmentOf(int processId) =>
        File.ReadAllText($"/proc/{processId}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
}

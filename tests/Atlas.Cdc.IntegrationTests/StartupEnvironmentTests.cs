using System.Globalization;
using System.Text.RegularExpressions;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The relay started as README documents (<c>dotnet Atlas.Cdc.dll</c>, no GC or malloc variable) replaces itself once
/// to run with a 4 MiB gen0 budget and glibc capped at two malloc arenas, keeping its process id; an operator's own
/// values are left alone.
/// </summary>
[Collection(CdcCollection.Name)]
public class StartupEnvironmentTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Relay_started_without_the_variables_runs_with_a_4_MiB_gen0_budget_and_two_malloc_arenas_under_the_same_process_id()
    {
        await using var scenario = await environment.CreateScenarioAsync("gen0");
        await using var relay = await scenario.StartReadyRelayAsync();

        // The id is the one the test started: execve replaced the image, not the process.
        var variables = EnvironmentOf(relay.ProcessId);
        Assert.True(variables.Contains($"{Gen0Budget.Variable}={Gen0Budget.Value}"),
            $"relay {relay.ProcessId} runs without {Gen0Budget.Variable}={Gen0Budget.Value}; its GC variables: {string.Join(", ", variables.Where(v => v.Contains("GC", StringComparison.Ordinal)))}");
        foreach (var (name, value) in MallocTuning.Variables)
            Assert.True(variables.Contains($"{name}={value}"),
                $"relay {relay.ProcessId} runs without {name}={value}; its malloc variables: {string.Join(", ", variables.Where(v => v.StartsWith("MALLOC", StringComparison.Ordinal)))}");
        // Replaced through the executable's own path: ps, top and pgrep still show the process by its name.
        Assert.Equal("dotnet", File.ReadAllText($"/proc/{relay.ProcessId}/comm").Trim());
        var budget = Regex.Match(relay.Output, @"GC gen0 budget at most (\d+) KiB \(DOTNET_GCgen0size=0x400000\)");
        Assert.True(budget.Success, $"no gen0 budget line with the relay's value in:\n{relay.Output}");
        // With the variable the runtime's largest gen0 budget is 6 MiB; its own default here is 52 MiB (cache-sized).
        Assert.True(int.Parse(budget.Groups[1].Value, CultureInfo.InvariantCulture) <= 6 * 1024, $"gen0 budget {budget.Groups[1].Value} KiB");
        Assert.Contains("glibc malloc: mmap threshold 4 MiB, trim threshold 256 KiB, at most 2 arenas (environment)", relay.Output);

        var ids = await scenario.InsertAsync(new OutboxRow("Order", "order-1", "Placed", """{"total": 1}"""));
        await scenario.WaitForEventsAsync([scenario.Topic("Order")], ids);
        // Two arenas: the main one (the brk heap) and one more. A mallopt from Main left the five the runtime's
        // threads had already made.
        var arenaHeaps = GlibcArenaHeaps(relay.ProcessId);
        Assert.True(arenaHeaps.Count <= 1, $"relay {relay.ProcessId} has {arenaHeaps.Count} glibc arena heaps besides the main one: {string.Join(", ", arenaHeaps)}");
    }

    [Fact]
    public async Task Operator_s_own_values_win_and_gen0size_0_keeps_the_runtime_s_default()
    {
        await using var scenario = await environment.CreateScenarioAsync("gen0own");
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            [Gen0Budget.Variable] = "0",
            ["MALLOC_ARENA_MAX"] = "4",
        });

        var variables = EnvironmentOf(relay.ProcessId);
        Assert.Contains($"{Gen0Budget.Variable}=0", variables);
        Assert.DoesNotContain($"{Gen0Budget.Variable}={Gen0Budget.Value}", variables);
        Assert.Contains("(DOTNET_GCgen0size=0)", relay.Output);
        Assert.Contains("MALLOC_ARENA_MAX=4", variables);
        Assert.DoesNotContain(variables, v => v.StartsWith("MALLOC_MMAP_THRESHOLD_", StringComparison.Ordinal));
        Assert.Contains("MALLOC_ARENA_MAX is set: malloc left as the environment says", relay.Output);
    }

    private static string[] EnvironmentOf(int processId) =>
        File.ReadAllText($"/proc/{processId}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// glibc's heaps for arenas other than the main one, from /proc/PID/maps: each is an anonymous 64 MiB reservation on
    /// a 64 MiB boundary, its used part read-write and the rest inaccessible.
    /// </summary>
    private static List<string> GlibcArenaHeaps(int processId)
    {
        const ulong heapSize = 64UL << 20;
        var maps = File.ReadAllLines($"/proc/{processId}/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(parts => (Range: parts[0].Split('-').Select(a => ulong.Parse(a, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray(),
                Permissions: parts[1], Anonymous: parts.Length < 6))
            .ToList();
        var heaps = new List<string>();
        for (var i = 0; i < maps.Count; i++)
        {
            var (range, permissions, anonymous) = maps[i];
            if (!anonymous || !permissions.StartsWith("rw", StringComparison.Ordinal) || range[0] % heapSize != 0)
                continue;
            var end = range[1];
            if (i + 1 < maps.Count && maps[i + 1] is { Anonymous: true, Permissions: var next } && next.StartsWith("---", StringComparison.Ordinal)
                && maps[i + 1].Range[0] == range[1])
                end = maps[i + 1].Range[1];
            if (end - range[0] == heapSize)
                heaps.Add($"{range[0]:x}-{range[1]:x}");
        }
        return heaps;
    }
}

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Gives the relay a 4 MiB gen0 allocation budget (<c>DOTNET_GCgen0size=0x400000</c>) instead of the runtime's
/// default, which it derives from the CPU's cache (a largest gen0 budget of 52 MiB on the benchmark's machine,
/// 6 MiB with this setting). The runtime reads this knob from the environment only, before any managed code runs:
/// no runtimeconfig name sets it (three were tried, docs/benchmarks.md). So when the variable is unset, the relay
/// adds it by replacing itself once at start (<see cref="StartupEnvironment"/>).
/// </summary>
/// <remarks>
/// Why: a 500,000-event transaction peaked at 155-172 MiB of resident memory with the default budget and at
/// 114-125 MiB with this one, at the same CPU (docs/benchmarks.md, "Second round, part six"). Events stay alive
/// from decoding until Kafka acknowledges them, so a larger gen0 promotes more of them and the older generations
/// grow with them. An operator's own <c>DOTNET_GCgen0size</c> (or <c>COMPlus_GCgen0size</c>) wins, and setting it
/// to 0 keeps the runtime's default. Not Linux, or no <c>/proc/self</c>: nothing is changed.
/// </remarks>
internal static class Gen0Budget
{
    public const string Variable = "DOTNET_GCgen0size";
    public const string Value = "0x400000";
    private const string LegacyVariable = "COMPlus_GCgen0size";

    /// <summary>The variable to add at start (<see cref="StartupEnvironment"/>): none when the environment decided the budget.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> VariablesToAdd() =>
        IsSet(Variable) || IsSet(LegacyVariable) ? [] : [new(Variable, Value)];

    /// <summary>The budget the GC runs with (its largest gen0 budget, in KiB), for the start-up log.</summary>
    public static string Outcome
    {
        get
        {
            var budget = GC.GetConfigurationVariables().TryGetValue("GCGen0MaxBudget", out var value) && value is long bytes
                ? $"{bytes / 1024} KiB"
                : "unknown";
            return $"GC gen0 budget at most {budget} ({Variable}={Environment.GetEnvironmentVariable(Variable) ?? "unset"})";
        }
    }

    private static bool IsSet(string variable) => Environment.GetEnvironmentVariable(variable) is not null;
}

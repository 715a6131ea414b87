using System.Globalization;
using System.Text.RegularExpressions;

namespace Atlas.Cdc.Benchmarks;

/// <summary>pgbench with a custom script (Workloads/*.sql) against a benchmark database.</summary>
internal static partial class PgBench
{
    public sealed record Result(long Transactions, TimeSpan Elapsed);

    /// <summary>A script of Workloads/ by name, or a script file elsewhere by its full path.</summary>
    public static string ScriptPath(string name) => Path.IsPathRooted(name) ? name : Path.Combine(AppContext.BaseDirectory, "Workloads", name);

    /// <summary>
    /// Writes a backlog of exactly <paramref name="transactions"/> transactions as fast as possible. Commits are
    /// asynchronous here: the backlog only has to exist in WAL, how fast it was written is not measured.
    /// </summary>
    public static async Task<Result> RunTransactionsAsync(BenchDatabase database, string script, int transactions, int clients)
    {
        if (transactions % clients != 0)
            throw new ArgumentException($"{transactions} transactions do not split evenly over {clients} pgbench clients.");
        return await RunAsync(database, script, clients, ["-t", (transactions / clients).ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string> { ["PGOPTIONS"] = "-c synchronous_commit=off" });
    }

    /// <summary>Commits at a fixed rate (pgbench -R, Poisson arrivals) for a duration, synchronous_commit on.</summary>
    public static Task<Result> RunRateAsync(BenchDatabase database, string script, int ratePerSecond, int seconds, int clients) =>
        RunAsync(database, script, clients,
            ["-R", ratePerSecond.ToString(CultureInfo.InvariantCulture), "-T", seconds.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string>());

    private static async Task<Result> RunAsync(BenchDatabase database, string script, int clients, string[] load,
        Dictionary<string, string> environment)
    {
        string[] arguments =
        [
            "-n", "-h", "127.0.0.1", "-p", database.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres",
            "-c", clients.ToString(CultureInfo.InvariantCulture), "-j", Math.Min(clients, 2).ToString(CultureInfo.InvariantCulture),
            "-f", ScriptPath(script), .. load, database.Name,
        ];
        var result = (await ExternalCommand.RunAsync(Path.Combine(BenchEnvironment.PostgresBin, "pgbench"), arguments,
            TimeSpan.FromMinutes(5), environment)).EnsureSuccess();
        var match = ProcessedPattern().Match(result.Output);
        if (!match.Success)
            throw new InvalidOperationException($"Unexpected pgbench output:\n{result.Output}");
        return new Result(long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), result.Elapsed);
    }

    [GeneratedRegex(@"number of transactions actually processed: (\d+)")]
    private static partial Regex ProcessedPattern();
}

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// The command-line tools a run starts, checked before anything is published or started: without this a missing
/// kcat surfaced as a stack trace a minute into the run, after the whole catch-up had been measured.
/// </summary>
internal static class Prerequisites
{
    /// <summary>What is missing, one line each naming the tool and the package that brings it; empty when all are there.</summary>
    public static IReadOnlyList<string> Missing()
    {
        var missing = new List<string>();
        foreach (var tool in new[] { "initdb", "pg_ctl", "pgbench", "pg_recvlogical" })
        {
            var path = Path.Combine(BenchEnvironment.PostgresBin, tool);
            if (!File.Exists(path))
                missing.Add($"{path} (Debian package postgresql-15)");
        }
        if (!OnPath("kcat"))
            missing.Add("kcat on PATH (Debian package kcat): the consumer that measures commit-to-visible latency, and the producer of the client floor");
        return missing;
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, command)));
}

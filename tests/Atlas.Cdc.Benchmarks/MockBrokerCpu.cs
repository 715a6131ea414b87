using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// CPU of the mock Kafka cluster, which runs inside this process on the same cores as the relay: the summed user +
/// system time of this process's librdkafka threads (named <c>rdk:...</c>: the mock brokers and the client hosting
/// them), from /proc/self/task/*/stat. Compared before and after a run, it keeps the brokers' work out of the relay's.
/// </summary>
internal static class MockBrokerCpu
{
    private const double TicksPerSecond = 100; // sysconf(_SC_CLK_TCK), as in ProcessStats

    public static double Seconds()
    {
        long ticks = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                if (open < 0 || close < open || !stat.AsSpan(open + 1, close - open - 1).StartsWith("rdk:", StringComparison.Ordinal))
                    continue;
                var fields = stat[(close + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The thread ended between listing and reading.
            }
        }
        return ticks / TicksPerSecond;
    }
}

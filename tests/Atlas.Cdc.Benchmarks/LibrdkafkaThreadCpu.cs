namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// CPU of a process's librdkafka threads: the summed user + system time of the threads librdkafka names
/// <c>rdk:...</c> (its main thread and one per broker connection; in this process also the mock brokers), from
/// /proc/PID/task/*/stat. Read before and after a run, it keeps the mock brokers' work out of the relay's, and shows
/// how much of the relay's own CPU its Kafka client library spends. The relay's delivery-report thread ("librdkafka
/// poll") is the relay's, not counted here.
/// </summary>
internal static class LibrdkafkaThreadCpu
{
    /// <summary>The mock brokers (and the benchmark's own clients): this process's librdkafka threads.</summary>
    public static double MockBrokers() => Seconds("/proc/self/task");

    /// <summary>The librdkafka threads of process <paramref name="pid"/>; null when it is gone.</summary>
    public static double? Of(int pid)
    {
        try
        {
            return Seconds($"/proc/{pid}/task");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static double Seconds(string tasks)
    {
        double seconds = 0;
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                if (open >= 0 && close > open && stat.AsSpan(open + 1, close - open - 1).StartsWith("rdk:", StringComparison.Ordinal))
                    seconds += ProcessStats.CpuSecondsOf(stat);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The thread ended between listing and reading.
            }
        }
        return seconds;
    }
}

using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>CPU time and memory of a process, read from /proc (Linux).</summary>
internal static class ProcessStats
{
    private static readonly double s_ticksPerSecond = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we run on

    /// <summary>User + system CPU seconds the process has used so far; null when it is gone.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            return CpuSecondsOf(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>User + system CPU seconds from the text of a /proc stat file: a process's, or one thread's (task/TID/stat).</summary>
    public static double CpuSecondsOf(string stat)
    {
        // Fields after the command name, which is in parentheses and may contain spaces.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var user = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var system = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (user + system) / s_ticksPerSecond;
    }

    /// <summary>Peak resident set size (VmHWM) in bytes; null when the process is gone.</summary>
    public static long? PeakRssBytes(int pid) => StatusKilobytes(pid, "VmHWM:") * 1024;

    /// <summary>Current resident set size (VmRSS) in bytes; null when the process is gone.</summary>
    public static long? RssBytes(int pid) => StatusKilobytes(pid, "VmRSS:") * 1024;

    /// <summary>What the resident set is made of: anonymous memory (heaps), mapped files (code), shared memory.</summary>
    public static string RssBreakdown(int pid) =>
        $"anonymous {StatusKilobytes(pid, "RssAnon:") / 1024} MiB, files {StatusKilobytes(pid, "RssFile:") / 1024} MiB, " +
        $"shared {StatusKilobytes(pid, "RssShmem:") / 1024} MiB";

    private static long? StatusKilobytes(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

using System.Globalization;
using System.Runtime.InteropServices;

namespace Atlas.Cdc.Benchmarks;

/// <summary>What the numbers were measured on: CPU, memory, kernel, versions, and how busy the machine was.</summary>
internal sealed record MachineInfo(int Cores, string CpuModel, double MemoryGiB, string Kernel, string DotNet, string PostgreSql,
    string Librdkafka, string LoadAverageAtStart, string Kcat)
{
    public static async Task<MachineInfo> ReadAsync(BenchEnvironment environment)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
            ?.Split(':', 2)[1].Trim() ?? "unknown";
        var memoryKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var postgres = await environment.Postgres.ScalarAsync<string>("SHOW server_version") ?? "?";
        return new MachineInfo(
            Environment.ProcessorCount,
            cpu,
            double.Parse(memoryKb, CultureInfo.InvariantCulture) / 1024 / 1024,
            File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
            RuntimeInformation.FrameworkDescription,
            postgres,
            Confluent.Kafka.Library.VersionString,
            LoadAverage(),
            await KcatVersionAsync());
    }

    /// <summary>kcat's version and the librdkafka it is built on ("1.7.1 on librdkafka 2.0.2").</summary>
    private static async Task<string> KcatVersionAsync()
    {
        var result = await ExternalCommand.RunAsync("kcat", ["-V"], TimeSpan.FromSeconds(10));
        var match = System.Text.RegularExpressions.Regex.Match(result.Output + result.Error, @"Version (\S+) \(.*?librdkafka (\S+)");
        return match.Success ? $"{match.Groups[1].Value} on librdkafka {match.Groups[2].Value}" : "unknown version";
    }

    /// <summary>1, 5 and 15-minute load averages: above ~2 on this 2-core machine, others were using it too.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}

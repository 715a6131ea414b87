using System.Globalization;
using System.Runtime.InteropServices;

namespace Atlas.Cdc.Benchmarks;

/// <summary>What the numbers were measured on: CPU, memory, kernel, versions, and how busy the machine was.</summary>
internal sealed record MachineInfo(int Cores, string CpuModel, double MemoryGiB, string Kernel, string DotNet, string PostgreSql,
    string Librdkafka, string LoadAverageAtStart)
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
            LoadAverage());
    }

    /// <summary>1, 5 and 15-minute load averages: above ~2 on this 2-core machine, others were using it too.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}

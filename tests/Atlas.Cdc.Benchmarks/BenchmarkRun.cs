using System.Diagnostics;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.Benchmarks;

/// <summary>Runs the scenarios one after another on one environment, then prints the table on stdout.</summary>
internal static class BenchmarkRun
{
    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var missing = Prerequisites.Missing();
        if (missing.Count > 0)
        {
            Console.Error.WriteLine("error: the benchmark needs tools this machine does not have:");
            foreach (var line in missing)
                Console.Error.WriteLine("  - " + line);
            Console.Error.WriteLine("Run `bash scripts/prerequisites.sh` (as root or with sudo) once: it installs them, as the tests' command does.");
            return 2;
        }

        var total = Stopwatch.StartNew();
        string relayBuild;
        string? relayAssembly = null;
        if (options.NoPublish)
        {
            relayBuild = $"build output {RelayProcess.DefaultAssemblyPath} (JIT)";
            if (!RelayProcess.DefaultAssemblyPath.Contains("/Release/", StringComparison.Ordinal))
                Progress.Write($"WARNING: the relay under test is not a Release build ({RelayProcess.DefaultAssemblyPath}); run with -c Release.");
        }
        else
        {
            Progress.Write("publishing the relay (Release, ReadyToRun) to artifacts/bench/relay");
            relayAssembly = await RelayBuild.PublishAsync();
            relayBuild = "dotnet publish -c Release -r " + System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier + " (ReadyToRun)";
        }

        foreach (var name in MemorySettings.RemoveInherited())
            Progress.Write($"{name} was set in this shell: removed, so the relay starts as docs/operations.md documents (the image's settings are measured on their own in row 3)");

        Progress.Write($"starting PostgreSQL 15 and a {options.Brokers}-broker mock Kafka cluster");
        await using var environment = await BenchEnvironment.StartAsync(options);
        environment.RelayAssembly = relayAssembly;
        await using var noDelay = options.KeepNagle ? null : MockBrokerNoDelay.Start();
        var machine = await MachineInfo.ReadAsync(environment);
        Progress.Write($"machine: {machine.Cores} cores, {machine.CpuModel}, load average {machine.LoadAverageAtStart}");

        CatchUpResult? catchUp = null;
        LiveResult? live = null;
        BigTransactionResult? big = null;
        BackfillResult? backfill = null;
        OutboxesResult? outboxes = null;
        if (options.Runs("catchup"))
            catchUp = await new CatchUpBenchmark(environment, options).RunAsync();
        if (options.Runs("live") || options.Runs("tracing") || options.Runs("polling"))
            live = await new LiveBenchmark(environment, options).RunAsync();
        if (options.Runs("big"))
            big = await new BigTransactionBenchmark(environment, options).RunAsync();
        if (options.Runs("outboxes"))
            outboxes = await new OutboxesBenchmark(environment, options).RunAsync();
        if (options.Runs("backfill"))
            backfill = await new BackfillBenchmark(environment, options).RunAsync();

        Console.Out.Write(Report.Render(machine, options, relayBuild, catchUp, live, big, backfill, total.Elapsed, outboxes));
        return 0;
    }
}

using Atlas.Cdc.Benchmarks;

// dotnet run -c Release --project tests/Atlas.Cdc.Benchmarks [-- options]   (docs/benchmarks.md)
if (args is ["polling-relay", .. var pollingArgs])
    return await PollingRelay.RunAsync(pollingArgs);

return await BenchmarkRun.RunAsync(BenchmarkOptions.Parse(args));

using Atlas.Cdc.Benchmarks;

// dotnet run -c Release --project tests/Atlas.Cdc.Benchmarks [-- options]   (docs/benchmarks.md)
if (args is ["polling-relay", .. var pollingArgs])
    return await PollingRelay.RunAsync(pollingArgs);
if (args is ["outbox-writer"])
    return await Atlas.Cdc.Benchmarks.OutboxWriter.OutboxWriterBenchmark.RunAsync();

// Reads of child processes' pipes (kcat, pg_recvlogical, pgbench, the relays) each hold a thread-pool thread while
// they wait; with the default minimum (one per core) the pool would add threads slowly and every timestamp taken
// on it (a message's arrival) would be late. Latency measurement needs them on time.
ThreadPool.SetMinThreads(64, 64);
return await BenchmarkRun.RunAsync(BenchmarkOptions.Parse(args));

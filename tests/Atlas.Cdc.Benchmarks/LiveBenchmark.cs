namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 2 (and row 4's live half): pgbench commits single-row transactions at a fixed rate (synchronous_commit
/// on, as in production) while a kcat consumer tails the topic; latency is from each row's clock_timestamp()
/// to the consumer seeing it. The relay and the polling relay each get a fresh database and the same load.
/// </summary>
internal sealed class LiveBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const int Clients = 8;

    public async Task<LiveResult> RunAsync()
    {
        LiveRun? relay = null, polling = null;
        LatencyStats? floor = null;
        if (options.Runs("live"))
            (relay, floor) = await RunRelayAsync();
        if (options.Runs("polling"))
            polling = await RunPollingAsync();
        return new LiveResult(options.LiveRate, options.LiveSeconds, relay, polling, floor);
    }

    /// <summary>
    /// The relay, and beside it on a second slot pg_recvlogical (test_decoding, to a pipe): the source-side floor,
    /// how late any client of a slot sees the same commits at the same moment. Its walsender costs the machine
    /// about 5% of a core at this rate.
    /// </summary>
    private async Task<(LiveRun Relay, LatencyStats Floor)> RunRelayAsync()
    {
        const string Slot = "relay_live";
        const string FloorSlot = "floor_live";
        const string Topics = "live";
        var database = await environment.CreateRelayDatabaseAsync("bench_live");
        await database.CreateSlotAsync(Slot);
        await database.ScalarAsync<string>("SELECT slot_name::text FROM pg_create_logical_replication_slot($1, 'test_decoding')", FloorSlot);
        await using var floor = SourceLatencyProbe.Start(database, FloorSlot);
        environment.CreateTopic(Topics + ".order");

        await using var relay = RelayUnderTest.Start(environment, database, Slot, Topics, options.RelaySettings);
        await relay.WaitUntilReadyAsync();
        var walsender = await database.SlotActivePidAsync(Slot)
            ?? throw new InvalidOperationException("The relay is ready but no walsender holds its slot.");
        var run = await MeasureAsync("relay", database, Topics, "atlas_cdc_relay",
            processCpu: () => ProcessStats.CpuSeconds(relay.ProcessId),
            producerThreadsCpu: () => LibrdkafkaThreadCpu.Of(relay.ProcessId),
            backendCpu: () => Task.FromResult(ProcessStats.CpuSeconds(walsender)),
            floor);
        run = run with { RelayHistogram = await relay.EndToEndLatencyAsync() };
        if (run.RelayHistogram is { } histogram)
            Progress.Write($"live (relay's own histogram, commit -> Kafka ack): p50 ~{histogram.Quantile(0.5) * 1000:0.0} ms, p99 ~{histogram.Quantile(0.99) * 1000:0.0} ms, " +
                           $"{histogram.ShareAtOrBelow(0.05):P1} within 50 ms");
        await relay.StopAsync();
        var floorLatency = floor.Measure(run.Since);
        Progress.Write($"live (source floor, same rows): {floorLatency.Count:N0} seen; p50 {floorLatency.P50:0.0} ms, p99 {floorLatency.P99:0.0} ms, max {floorLatency.Max:0.0} ms");
        return (run, floorLatency);
    }

    private const string WarmUpSql = """
        INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
        VALUES ('order', 'warm-up', 'WarmUp', jsonb_build_object('ts', extract(epoch FROM clock_timestamp())))
        """;

    private async Task<LiveRun> RunPollingAsync()
    {
        const string Topics = "poll_live";
        var database = await environment.CreatePollingDatabaseAsync("bench_poll_live");
        environment.CreateTopic(Topics + ".order");

        await using var polling = PollingRelayProcess.Start(environment, database, Topics, options.KafkaProperties());
        return await MeasureAsync("polling relay", database, Topics, "atlas_poll_relay",
            processCpu: () => ProcessStats.CpuSeconds(polling.ProcessId),
            producerThreadsCpu: () => LibrdkafkaThreadCpu.Of(polling.ProcessId),
            backendCpu: () => CatchUpBenchmark.BackendCpuAsync(database, "atlas_poll_relay"));
    }

    private async Task<LiveRun> MeasureAsync(string who, BenchDatabase database, string topicPrefix, string role,
        Func<double?> processCpu, Func<double?> producerThreadsCpu, Func<Task<double?>> backendCpu, SourceLatencyProbe? floor = null)
    {
        await using var probe = LatencyProbe.Start(environment.Kafka.BootstrapServers, topicPrefix + ".order");
        // One row end to end first: the relay streams and the consumer is attached before the clock starts.
        await database.ExecuteAsync(WarmUpSql);
        await probe.WaitForCountAsync(1, TimeSpan.FromSeconds(30));
        if (probe.Count < 1)
            throw new TimeoutException($"live ({who}): the warm-up event did not reach the consumer within 30 s.");

        await database.ResetStatisticsAsync();
        var processCpuBefore = processCpu();
        var producerThreadsCpuBefore = producerThreadsCpu();
        var backendCpuBefore = await backendCpu();
        var since = DateTimeOffset.UtcNow;
        Progress.Write($"live ({who}): pgbench {options.LiveRate:N0} tx/s for {options.LiveSeconds} s");
        var load = await PgBench.RunRateAsync(database, options.Workload, options.LiveRate, options.LiveSeconds, Clients);
        await probe.WaitForCountAsync(load.Transactions + 1, TimeSpan.FromSeconds(30));
        if (floor is not null)
            await floor.WaitForCountAsync(load.Transactions + 1, TimeSpan.FromSeconds(10));
        var latency = probe.Measure(since);
        var processCpuUsed = processCpu() - processCpuBefore;
        var producerThreadsCpuUsed = producerThreadsCpu() - producerThreadsCpuBefore;
        var backendCpuUsed = await backendCpu() - backendCpuBefore;
        await Task.Delay(1200); // table counters reach pg_stat_user_tables about once a second
        var statements = await database.StatementLoadAsync(role);
        var table = await database.OutboxLoadAsync();
        var run = new LiveRun(since, load.Transactions, latency, processCpuUsed, backendCpuUsed, statements, table)
        {
            ProducerThreadsCpuSeconds = producerThreadsCpuUsed,
        };
        Progress.Write($"live ({who}): {latency.Count:N0} of {load.Transactions:N0} seen; p50 {latency.P50:0.0} ms, p99 {latency.P99:0.0} ms, " +
                       $"max {latency.Max:0.0} ms; process CPU {processCpuUsed:0.0} s (librdkafka's threads {producerThreadsCpuUsed:0.0} s), backend CPU {backendCpuUsed:0.0} s");
        return run;
    }
}

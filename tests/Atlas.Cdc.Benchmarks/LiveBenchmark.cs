using System.Diagnostics;
using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 2 (and row 4's live half): pgbench commits single-row transactions at a fixed rate (synchronous_commit
/// on, as in production) while a kcat consumer tails the topic; latency is from each row's clock_timestamp()
/// to the consumer seeing it. The relay is measured twice in one process: a window starting seconds after it is
/// ready (just started: its code not yet compiled for the hot path), and, after a warm phase of the same load, a
/// window of a relay that has run for minutes. The polling relay gets a fresh database and one window of the same load.
/// </summary>
internal sealed class LiveBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const int Clients = 8;

    /// <summary>"The load starting seconds after the relay is ready" (issue 23).</summary>
    private static readonly TimeSpan s_afterReady = TimeSpan.FromSeconds(3);

    public async Task<LiveResult> RunAsync()
    {
        LiveRun? justStarted = null, warm = null, polling = null;
        KcatLiveFloor? kcat = null;
        TracingResult? tracing = null;
        if (options.Runs("live"))
            (justStarted, warm, kcat) = await RunRelayAsync();
        if (options.Runs("tracing"))
            tracing = await RunTracingAsync();
        if (options.Runs("polling"))
            polling = await RunPollingAsync();
        return new LiveResult(options.LiveRate, options.LiveSeconds, options.LiveWarmSeconds, justStarted, warm, polling, kcat) { Tracing = tracing };
    }

    /// <summary>
    /// The relay, and beside it on a second slot pg_recvlogical (test_decoding, to a pipe): the source-side floor,
    /// how late any client of a slot sees the same commits at the same moment, and what reading them costs a client.
    /// Then kcat sends the same messages at the same rate: the Kafka half of the client floor.
    /// </summary>
    private async Task<(LiveRun JustStarted, LiveRun Warm, KcatLiveFloor Kcat)> RunRelayAsync()
    {
        const string Slot = "relay_live";
        const string FloorSlot = "floor_live";
        const string Topics = "live";
        var database = await environment.CreateRelayDatabaseAsync("bench_live");
        await database.CreateSlotAsync(Slot);
        await database.ScalarAsync<string>("SELECT slot_name::text FROM pg_create_logical_replication_slot($1, 'test_decoding')", FloorSlot);
        await using var floor = SourceLatencyProbe.Start(database, FloorSlot);
        environment.CreateTopic(Topics + ".order");
        await using var probe = await StartConsumerAsync(Topics);

        await using var relay = RelayUnderTest.Start(environment, database, Slot, Topics, options.RelaySettings);
        await relay.WaitUntilReadyAsync();
        var ready = relay.Elapsed;
        var walsender = await database.SlotActivePidAsync(Slot)
            ?? throw new InvalidOperationException("The relay is ready but no walsender holds its slot.");
        await Task.Delay(s_afterReady);

        var meter = new Meter(
            ProcessCpu: () => ProcessStats.CpuSeconds(relay.ProcessId),
            ProducerThreadsCpu: () => LibrdkafkaThreadCpu.Of(relay.ProcessId),
            BackendCpu: () => Task.FromResult(ProcessStats.CpuSeconds(walsender)),
            Histogram: relay.EndToEndLatencyAsync,
            Floor: floor,
            Since: () => relay.Elapsed);
        var justStarted = await MeasureAsync($"relay, ready at {ready.TotalSeconds:0.0} s", database, "atlas_cdc_relay", probe, meter);

        Progress.Write($"live (relay): warm phase, pgbench {options.LiveRate:N0} tx/s for {options.LiveWarmSeconds} s (not measured)");
        if (options.LiveWarmSeconds > 0)
        {
            var seenBefore = probe.Count;
            var warmLoad = await PgBench.RunRateAsync(database, options.Workload, options.LiveRate, options.LiveWarmSeconds, Clients);
            await probe.WaitForCountAsync(seenBefore + warmLoad.Transactions, TimeSpan.FromSeconds(30));
        }
        var warm = await MeasureAsync("relay, warm", database, "atlas_cdc_relay", probe, meter);
        await relay.StopAsync();

        var kcat = await MeasureKcatAsync(database);
        return (justStarted, warm, kcat);
    }

    /// <summary>The rows of the tracing windows: single_row.sql's, each with a sampled <c>traceparent</c> in its headers.</summary>
    private const string TracingWorkload = "single_row_traceparent.sql";

    /// <summary>
    /// Row 2t (issue 25): what tracing costs when every event is sampled. Two windows of the live load, each on a fresh
    /// database with a just-started relay (as row 2's), on rows that all carry a sampled <c>traceparent</c>: first a
    /// relay with tracing off, then one with <c>Cdc__Tracing__Enabled=true</c> and <c>OTEL_TRACES_SAMPLER=always_on</c>,
    /// exporting OTLP/HTTP protobuf to a receiver in this process. The same rows for both, so the difference is tracing's
    /// (span, its attributes, the export), not the headers'. Spans the SDK exports after a window's CPU is read (at most
    /// about one export batch, 512 by default) are not in that window's CPU. The spans received are counted after the
    /// relay's exit (its SDK's last flush), beside the events committed: spans the SDK dropped show there.
    /// </summary>
    private async Task<TracingResult> RunTracingAsync()
    {
        var clock = Stopwatch.StartNew();
        var off = await RunTracingWindowAsync("tracing off", "bench_trace_off", "trace_off", options.RelaySettings, receiver: null);
        await using var receiver = await Sandbox.Otlp.OtlpTraceReceiver.StartAsync();
        var settings = new Dictionary<string, string>(options.RelaySettings, StringComparer.Ordinal)
        {
            ["Cdc__Tracing__Enabled"] = "true",
            ["OTEL_TRACES_SAMPLER"] = "always_on",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
        };
        var on = await RunTracingWindowAsync("tracing on", "bench_trace_on", "trace_on", settings, receiver);
        var spans = receiver.Spans;
        var publishSpans = spans.LongCount(s => s.Name.StartsWith("publish ", StringComparison.Ordinal));
        var result = new TracingResult(off, on, publishSpans, spans.Count - publishSpans, receiver.Exports, receiver.Rejected.Count);
        Progress.Write($"live (tracing): {publishSpans:N0} relay spans received for {on.Committed:N0} events ({result.Dropped:N0} missing; " +
                       $"{result.OtherSpans:N0} other spans, {receiver.Exports:N0} exports, {receiver.Rejected.Count} refused); " +
                       $"relay CPU {on.CpuMicrosecondsPerEvent:0} µs/event on, {off.CpuMicrosecondsPerEvent:0} off ({result.ExtraMicrosecondsPerEvent:+0;-0} µs/event); " +
                       $"both windows took {clock.Elapsed.TotalSeconds:0} s");
        foreach (var why in receiver.Rejected.Distinct().Take(3))
            Progress.Write("live (tracing): the receiver refused " + why);
        return result;
    }

    private async Task<LiveRun> RunTracingWindowAsync(string who, string databaseName, string topics, IReadOnlyDictionary<string, string> settings,
        Sandbox.Otlp.OtlpTraceReceiver? receiver)
    {
        var slot = "relay_" + topics; // slots are the server's, not a database's: a name of its own for each window
        var database = await environment.CreateRelayDatabaseAsync(databaseName);
        await database.CreateSlotAsync(slot);
        environment.CreateTopic(topics + ".order");
        await using var probe = await StartConsumerAsync(topics);
        await using var relay = RelayUnderTest.Start(environment, database, slot, topics, settings);
        await relay.WaitUntilReadyAsync();
        var walsender = await database.SlotActivePidAsync(slot)
            ?? throw new InvalidOperationException("The relay is ready but no walsender holds its slot.");
        await Task.Delay(s_afterReady);
        var run = await MeasureAsync(who, database, "atlas_cdc_relay", probe, new Meter(
            ProcessCpu: () => ProcessStats.CpuSeconds(relay.ProcessId),
            ProducerThreadsCpu: () => LibrdkafkaThreadCpu.Of(relay.ProcessId),
            BackendCpu: () => Task.FromResult(ProcessStats.CpuSeconds(walsender)),
            Histogram: relay.EndToEndLatencyAsync,
            Floor: null,
            Since: () => relay.Elapsed), TracingWorkload);
        if (receiver is not null)
        {
            // The SDK's batch processor exports every 5 s or every 512 spans; give it time before the exit's last flush.
            var deadline = Stopwatch.StartNew();
            while (receiver.Spans.Count < run.Committed && deadline.Elapsed < TimeSpan.FromSeconds(10))
                await Task.Delay(250);
        }
        await relay.StopAsync();
        return run;
    }

    /// <summary>
    /// The consumer, attached before anything is measured: one message produced straight into the topic (by kcat,
    /// not through the relay, which so handles no event before its first window) must reach it.
    /// </summary>
    private async Task<LatencyProbe> StartConsumerAsync(string topicPrefix)
    {
        var probe = LatencyProbe.Start(environment.Kafka.BootstrapServers, topicPrefix + ".order");
        var warmUp = string.Create(CultureInfo.InvariantCulture, $"warm-up\t{{\"ts\": {DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds() / 1000.0:0.000}}}");
        await KcatProducer.ProduceLinesAsync(environment.Kafka.BootstrapServers, topicPrefix + ".order", [warmUp], options);
        await probe.WaitForCountAsync(1, TimeSpan.FromSeconds(30));
        if (probe.Count < 1)
        {
            await probe.DisposeAsync();
            throw new TimeoutException("live: the consumer did not see the warm-up message within 30 s.");
        }
        return probe;
    }

    private async Task<LiveRun> RunPollingAsync()
    {
        const string Topics = "poll_live";
        var database = await environment.CreatePollingDatabaseAsync("bench_poll_live");
        environment.CreateTopic(Topics + ".order");
        await using var probe = await StartConsumerAsync(Topics);

        await using var polling = PollingRelayProcess.Start(environment, database, Topics, options.KafkaProperties());
        await Task.Delay(s_afterReady);
        return await MeasureAsync("polling relay", database, "atlas_poll_relay", probe, new Meter(
            ProcessCpu: () => ProcessStats.CpuSeconds(polling.ProcessId),
            ProducerThreadsCpu: () => LibrdkafkaThreadCpu.Of(polling.ProcessId),
            BackendCpu: () => CatchUpBenchmark.BackendCpuAsync(database, "atlas_poll_relay"),
            Histogram: null,
            Floor: null,
            Since: null));
    }

    /// <summary>What one window reads before and after, for the relay or the polling relay.</summary>
    private sealed record Meter(Func<double?> ProcessCpu, Func<double?> ProducerThreadsCpu, Func<Task<double?>> BackendCpu,
        Func<Task<PrometheusHistogram?>>? Histogram, SourceLatencyProbe? Floor, Func<TimeSpan>? Since);

    private async Task<LiveRun> MeasureAsync(string who, BenchDatabase database, string role, LatencyProbe probe, Meter meter, string? workload = null)
    {
        await database.ResetStatisticsAsync();
        var seenBefore = probe.Count;
        var floorSeenBefore = meter.Floor?.Count ?? 0;
        var processCpuBefore = meter.ProcessCpu();
        var producerThreadsCpuBefore = meter.ProducerThreadsCpu();
        var backendCpuBefore = await meter.BackendCpu();
        var floorCpuBefore = meter.Floor?.CpuSeconds;
        var histogramBefore = meter.Histogram is null ? null : await meter.Histogram();
        var startedAfter = meter.Since?.Invoke();
        var since = DateTimeOffset.UtcNow;
        Progress.Write($"live ({who}): pgbench {options.LiveRate:N0} tx/s for {options.LiveSeconds} s" +
                       (startedAfter is { } after ? $", starting {after.TotalSeconds:0} s after the relay's start" : ""));
        var load = await PgBench.RunRateAsync(database, workload ?? options.Workload, options.LiveRate, options.LiveSeconds, Clients);
        var until = DateTimeOffset.UtcNow;
        await probe.WaitForCountAsync(seenBefore + load.Transactions, TimeSpan.FromSeconds(30));
        if (meter.Floor is not null)
            await meter.Floor.WaitForCountAsync(floorSeenBefore + load.Transactions, TimeSpan.FromSeconds(10));
        var processCpuUsed = meter.ProcessCpu() - processCpuBefore;
        var producerThreadsCpuUsed = meter.ProducerThreadsCpu() - producerThreadsCpuBefore;
        var backendCpuUsed = await meter.BackendCpu() - backendCpuBefore;
        var floorCpuUsed = meter.Floor?.CpuSeconds - floorCpuBefore;
        var histogram = meter.Histogram is null ? null : (await meter.Histogram())?.Minus(histogramBefore);
        var latency = probe.Measure(since, until);
        var floorLatency = meter.Floor?.Measure(since, until);
        await Task.Delay(1200); // table counters reach pg_stat_user_tables about once a second
        var statements = await database.StatementLoadAsync(role);
        var table = await database.OutboxLoadAsync();
        var run = new LiveRun(since, load.Transactions, latency, processCpuUsed, backendCpuUsed, statements, table)
        {
            ProducerThreadsCpuSeconds = producerThreadsCpuUsed,
            StartedAfter = startedAfter,
            RelayHistogram = histogram,
            SourceFloor = floorLatency,
            SourceFloorCpuSeconds = floorCpuUsed,
        };
        Progress.Write($"live ({who}): {latency.Count:N0} of {load.Transactions:N0} seen; p50 {latency.P50:0.0} ms, p99 {latency.P99:0.0} ms, " +
                       $"max {latency.Max:0.0} ms; process CPU {processCpuUsed:0.0} s ({run.CpuMicrosecondsPerEvent:0} µs/event; librdkafka's threads {producerThreadsCpuUsed:0.0} s), " +
                       $"backend CPU {backendCpuUsed:0.0} s");
        if (floorLatency is not null)
            Progress.Write($"live ({who}) source floor, same rows: {floorLatency.Count:N0} seen; p50 {floorLatency.P50:0.0} ms, p99 {floorLatency.P99:0.0} ms, " +
                           $"max {floorLatency.Max:0.0} ms; pg_recvlogical CPU {floorCpuUsed:0.00} s");
        if (histogram is not null)
            Progress.Write($"live ({who}) relay's own histogram, commit -> Kafka ack: p50 ~{histogram.Quantile(0.5) * 1000:0.0} ms, " +
                           $"p99 ~{histogram.Quantile(0.99) * 1000:0.0} ms, {histogram.ShareAtOrBelow(0.05):P1} within 50 ms");
        return run;
    }

    /// <summary>kcat sending the live rows' messages at the live rate, alone on the machine's share: the Kafka half of the live client floor.</summary>
    private async Task<KcatLiveFloor> MeasureKcatAsync(BenchDatabase database)
    {
        var lines = await database.ExportMessageLinesAsync(options.LiveRate * options.LiveSeconds + 1);
        var topic = "floor_live.order";
        environment.CreateTopic(topic);
        var lsn = (await database.CurrentWalLsnAsync()).ToString();
        Progress.Write($"live (client floor): kcat sends the same messages, {options.LiveRate:N0} a second for {options.LiveSeconds} s");
        var clock = Stopwatch.StartNew();
        var (cpu, sent) = await KcatProducer.ProducePacedAsync(environment.Kafka.BootstrapServers, topic, lines, options.LiveRate, options.LiveSeconds, lsn, options);
        var result = new KcatLiveFloor(sent, cpu);
        Progress.Write($"live (client floor): kcat sent {sent:N0} in {clock.Elapsed.TotalSeconds:0.0} s, CPU {cpu:0.00} s ({result.MicrosecondsPerEvent:0.0} µs/event)");
        return result;
    }
}

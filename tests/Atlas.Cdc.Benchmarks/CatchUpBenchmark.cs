namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 1 (and row 4's catch-up half). pgoutput slots are created at the same point, then a backlog of single-row
/// transactions is written. In each round pg_recvlogical reads one slot to the end position, then the relay is
/// started on another and timed from process start to Kafka's acknowledgement of the last event (nothing
/// subtracted). Then the polling relay drains a copy of the same rows in its own database.
/// </summary>
internal sealed class CatchUpBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const string RelaySlot = "relay_catchup";
    private const string RecvSlot = "recv_catchup";
    private const string Topics = "catchup";
    private const string PollingTopics = "poll_catchup";
    private const string FloorTopics = "floor_catchup";

    /// <summary>The Avro schema of each workload's payload (Workloads/*.sql).</summary>
    private static readonly Dictionary<string, string> s_avroSchemas = new(StringComparer.Ordinal)
    {
        ["single_row.sql"] = """
            {"type": "record", "name": "OrderPlaced", "namespace": "bench", "fields": [
              {"name": "ts", "type": "double"}, {"name": "customer", "type": "int"}, {"name": "sku", "type": "string"},
              {"name": "quantity", "type": "int"}, {"name": "amount", "type": "double"}, {"name": "currency", "type": "string"},
              {"name": "note", "type": "string"}]}
            """,
        ["single_row_100b.sql"] = """
            {"type": "record", "name": "OrderPlaced", "namespace": "bench", "fields": [
              {"name": "ts", "type": "double"}, {"name": "customer", "type": "int"}, {"name": "note", "type": "string"}]}
            """,
    };

    public async Task<CatchUpResult> RunAsync()
    {
        var database = await environment.CreateRelayDatabaseAsync("bench_catchup");
        var avroSchema = s_avroSchemas.GetValueOrDefault(options.Workload);
        if (options.Avro && avroSchema is null)
            Progress.Write($"catch-up: no Avro schema for workload {options.Workload}: Avro rounds left out");
        await using var registry = options.Avro && avroSchema is not null ? await Sandbox.SchemaRegistry.SchemaRegistryStandIn.StartAsync() : null;
        var variants = options.Variants.Prepend(RelayVariant.Baseline).ToList();
        if (registry is not null)
        {
            // The same rows as Avro: the schema of the workload's payload, under the topic's subject.
            registry.Register(Topics + ".order-value", avroSchema!);
            variants.Insert(1, RelayVariant.Avro(registry.Url));
        }
        // Every reader gets its own slot, all created at the same point before the backlog is written.
        var rounds = Enumerable.Range(0, options.Repeat)
            .Select(round => (Recv: $"{RecvSlot}_{round}", Relays: variants
                .Select(variant => (Variant: variant, Slot: $"{RelaySlot}_{round}_{variant.Name}")).ToList()))
            .ToList();
        foreach (var (recvSlot, relays) in rounds)
        {
            await database.CreateSlotAsync(recvSlot);
            foreach (var (_, slot) in relays)
                await database.CreateSlotAsync(slot);
        }
        environment.CreateTopic(Topics + ".order");

        Progress.Write($"catch-up: writing {options.CatchUpEvents:N0} single-row transactions (pgbench, {options.CatchUpClients} clients)");
        var written = await PgBench.RunTransactionsAsync(database, options.Workload, options.CatchUpEvents, options.CatchUpClients);
        var endLsn = await database.CurrentWalLsnAsync();
        var events = await database.CountAsync("SELECT count(*) FROM public.outbox");
        var payloadBytes = await database.AveragePayloadBytesAsync();
        Progress.Write($"catch-up: backlog of {events:N0} transactions ({payloadBytes:0} B payloads on average) written in {written.Elapsed.TotalSeconds:0.0} s, WAL end {endLsn}");

        // The client floor's input: the same keys and payloads, in commit order.
        var kcatInput = Path.Combine(Path.GetTempPath(), $"atlas-cdc-bench-{Environment.ProcessId}-catchup.txt");
        try
        {
            await database.ExportMessagesAsync(kcatInput);

            // Rounds alternate pg_recvlogical, kcat and the relay, so a busy moment on the shared machine hits one round, not one side.
            var results = new List<CatchUpRun>();
            var floors = new List<ClientFloorRound>();
            for (var round = 0; round < rounds.Count; round++)
            {
                var (recv, recvCpu) = await RecvLogical.ReadToAsync(database, rounds[round].Recv, endLsn);
                Progress.Write($"catch-up: round {round + 1}: pg_recvlogical read it in {recv.TotalSeconds:0.00} s ({events / recv.TotalSeconds:N0} tx/s), CPU {recvCpu:0.00} s");
                var floorTopic = $"{FloorTopics}_{round + 1}.order";
                environment.CreateTopic(floorTopic);
                var (kcat, kcatCpu) = await KcatProducer.ProduceFileAsync(environment.Kafka.BootstrapServers, floorTopic, kcatInput, events, endLsn.ToString(), options);
                floors.Add(new ClientFloorRound(round + 1, events, recv, recvCpu, kcat, kcatCpu));
                Progress.Write($"catch-up: round {round + 1}: kcat produced the same messages in {kcat.TotalSeconds:0.00} s, CPU {kcatCpu:0.00} s; " +
                               $"client floor {floors[^1].MicrosecondsPerEvent:0.0} µs/event");
                foreach (var (variant, slot) in rounds[round].Relays)
                {
                    var settings = new Dictionary<string, string>(options.RelaySettings, StringComparer.Ordinal);
                    foreach (var (name, value) in variant.Settings)
                        settings[name] = value;
                    var topics = TopicsOf(variant, settings, round == 0);
                    results.Add(await RunRelayAsync(database, round + 1, variant.Name, slot, topics, settings, events, recv));
                }
            }

            PollingCatchUpResult? polling = null;
            if (options.Runs("polling"))
                polling = await RunPollingAsync(database, events);
            return new CatchUpResult(events, payloadBytes, options.CatchUpClients, polling, results, floors);
        }
        finally
        {
            File.Delete(kcatInput);
        }
    }

    /// <summary>
    /// The topic prefix of a variant: the run's, or, for a variant with <c>BROKERS=N</c> or <c>PARTITIONS=N</c>, a topic
    /// of its own on the cluster it names (its bootstrap servers put into the relay's settings).
    /// </summary>
    private string TopicsOf(RelayVariant variant, Dictionary<string, string> settings, bool create)
    {
        var brokers = settings.Remove(RelayVariant.BrokersSetting, out var b) ? int.Parse(b, System.Globalization.CultureInfo.InvariantCulture) : options.Brokers;
        var partitions = settings.Remove(RelayVariant.PartitionsSetting, out var p) ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : options.Partitions;
        if (brokers == options.Brokers && partitions == options.Partitions)
            return Topics;
        var cluster = environment.KafkaWith(brokers);
        var topics = $"{Topics}_{variant.Name}";
        if (create)
            cluster.CreateTopic(topics + ".order", partitions, Math.Min(3, brokers));
        settings["Cdc__Kafka__BootstrapServers"] = cluster.BootstrapServers;
        return topics;
    }

    internal async Task<CatchUpRun> RunRelayAsync(BenchDatabase database, int round, string name, string slot, string topics, Dictionary<string, string> settings,
        long events, TimeSpan recv)
    {
        var brokerCpuBefore = LibrdkafkaThreadCpu.MockBrokers();
        await using var relay = RelayUnderTest.Start(environment, database, slot, topics, settings);
        var streamStart = WhenSlotActiveAsync(database, slot, relay);
        // /metrics is read every 100 ms: often enough for ~1% resolution, rarely enough not to load the relay.
        var (firstAck, done) = await relay.WaitForPublishedAsync(events, TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(100));
        var relayCpu = ProcessStats.CpuSeconds(relay.ProcessId);
        var producerThreadsCpu = LibrdkafkaThreadCpu.Of(relay.ProcessId);
        var brokerCpu = LibrdkafkaThreadCpu.MockBrokers() - brokerCpuBefore;
        var walsender = await database.SlotActivePidAsync(slot);
        var walsenderCpu = walsender is { } pid ? ProcessStats.CpuSeconds(pid) : null;
        var peakRss = ProcessStats.PeakRssBytes(relay.ProcessId);
        var heap = await relay.ManagedHeapStatsAsync();
        var shutdownCpu = await StopCountingCpuAsync(relay) - relayCpu;
        var (started, startupCpu) = await streamStart;
        if (options.ShowRelayOutput)
            Console.Error.WriteLine(relay.Output);
        Progress.Write($"catch-up: round {round}: {name} delivered it in {done.TotalSeconds:0.00} s ({events / done.TotalSeconds:N0} ev/s; took the slot at " +
                       $"{started.TotalSeconds:0.00} s, first ack at {firstAck.TotalSeconds:0.00} s, streaming {events / (done - started).TotalSeconds:N0} ev/s; " +
                       $"relay CPU {relayCpu:0.00} s of which {startupCpu:0.00} s start-up and {producerThreadsCpu:0.00} s librdkafka's threads, walsender CPU {walsenderCpu:0.0} s, mock brokers CPU {brokerCpu:0.0} s; " +
                       $"its shutdown after the last acknowledgement another {shutdownCpu:0.00} s, not counted; " +
                       $"managed heap: {heap.AllocatedBytes / (double)events:N0} B allocated per event, start-up included, " +
                       $"{heap.Gen0}/{heap.Gen1}/{heap.Gen2} gen0/gen1/gen2 collections, {heap.PauseSeconds:0.000} s paused)");
        return new CatchUpRun(round, name, events, recv, done, started, firstAck, relayCpu, walsenderCpu, peakRss)
        {
            BrokerCpuSeconds = brokerCpu,
            ProducerThreadsCpuSeconds = producerThreadsCpu,
            StartupCpuSeconds = startupCpu,
            ShutdownCpuSeconds = shutdownCpu,
        };
    }

    /// <summary>
    /// Stops the relay (SIGTERM) and returns its CPU as last seen before it exited (read every 5 ms): what a measurement
    /// of the whole process to its exit, like <c>time</c>, would count beyond the catch-up.
    /// </summary>
    private static async Task<double> StopCountingCpuAsync(RelayUnderTest relay)
    {
        var last = ProcessStats.CpuSeconds(relay.ProcessId) ?? double.NaN;
        using var stop = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (ProcessStats.CpuSeconds(relay.ProcessId) is { } cpu)
                    Interlocked.Exchange(ref last, cpu);
                await Task.Delay(5, CancellationToken.None);
            }
        });
        await relay.StopAsync();
        await stop.CancelAsync();
        await watch;
        return last;
    }

    /// <summary>
    /// When the relay's walsender took the slot (polled every 5 ms, a cheap catalog read, until it does), and the
    /// relay's CPU at that moment: its start-up, which the CPU per event includes.
    /// </summary>
    private static async Task<(TimeSpan At, double? Cpu)> WhenSlotActiveAsync(BenchDatabase database, string slot, RelayUnderTest relay)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT active FROM pg_replication_slots WHERE slot_name = $1", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = slot });
        await command.PrepareAsync();
        while (relay.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (await command.ExecuteScalarAsync() is true)
                return (relay.Elapsed, ProcessStats.CpuSeconds(relay.ProcessId));
            await Task.Delay(5);
        }
        throw new TimeoutException($"The relay did not take slot {slot} within 2 minutes:\n{relay.Output}");
    }

    private async Task<PollingCatchUpResult> RunPollingAsync(BenchDatabase source, long events)
    {
        var database = await environment.CreatePollingDatabaseAsync("bench_poll_catchup");
        await CopyOutboxAsync(source, database);
        await database.ExecuteAsync("VACUUM ANALYZE public.outbox");
        await database.ResetStatisticsAsync();
        environment.CreateTopic(PollingTopics + ".order");

        await using var polling = PollingRelayProcess.Start(environment, database, PollingTopics, options.KafkaProperties());
        var elapsed = await polling.WaitForPublishedAsync(events, TimeSpan.FromMinutes(3));
        var processCpu = ProcessStats.CpuSeconds(polling.ProcessId);
        var backendCpu = await BackendCpuAsync(database, "atlas_poll_relay");
        await Task.Delay(1200); // table counters reach pg_stat_user_tables about once a second
        var statements = await database.StatementLoadAsync("atlas_poll_relay");
        var table = await database.OutboxLoadAsync();
        Progress.Write("catch-up: polling relay time: " + polling.Phases);
        foreach (var line in await database.TopStatementsAsync("atlas_poll_relay", 3))
            Progress.Write("catch-up: polling relay statement: " + line);
        Progress.Write($"catch-up: polling relay published it in {elapsed.TotalSeconds:0.00} s ({events / elapsed.TotalSeconds:N0} ev/s; " +
                       $"{statements.Calls:N0} statements, {table.Updated:N0} rows updated, {table.DeadTuples:N0} dead tuples)");
        return new PollingCatchUpResult(events, elapsed, processCpu, backendCpu, statements, table);
    }

    /// <summary>The same rows, in the same order, into the polling relay's copy of the table.</summary>
    private static async Task CopyOutboxAsync(BenchDatabase from, BenchDatabase to)
    {
        const string Columns = "id, aggregate_type, aggregate_id, event_type, payload, headers, created_at";
        await using var source = await from.OpenAsync();
        await using var target = await to.OpenAsync();
        await using var export = await source.BeginRawBinaryCopyAsync($"COPY (SELECT {Columns} FROM public.outbox ORDER BY created_at) TO STDOUT (FORMAT BINARY)");
        await using (var import = await target.BeginRawBinaryCopyAsync($"COPY public.outbox ({Columns}) FROM STDIN (FORMAT BINARY)"))
            await export.CopyToAsync(import);
    }

    internal static async Task<double?> BackendCpuAsync(BenchDatabase database, string role)
    {
        double? total = null;
        foreach (var pid in await database.BackendPidsAsync(role))
            total = (total ?? 0) + (ProcessStats.CpuSeconds(pid) ?? 0);
        return total;
    }
}

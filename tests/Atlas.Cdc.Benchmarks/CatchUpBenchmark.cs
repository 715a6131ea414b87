namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 1 (and row 4's catch-up half). Two pgoutput slots are created at the same point, then a backlog of
/// single-row transactions is written. pg_recvlogical reads its slot to the end position; then the relay is
/// started and timed from process start to Kafka's acknowledgement of the last event (nothing subtracted).
/// Then the polling relay drains a copy of the same rows in its own database.
/// </summary>
internal sealed class CatchUpBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const string RelaySlot = "relay_catchup";
    private const string RecvSlot = "recv_catchup";
    private const string Topics = "catchup";
    private const string PollingTopics = "poll_catchup";

    public async Task<CatchUpResult> RunAsync()
    {
        var database = await environment.CreateRelayDatabaseAsync("bench_catchup");
        List<(RelayVariant Variant, string Slot)> runs = [];
        for (var round = 0; round < options.Repeat; round++)
        {
            foreach (var variant in options.Variants.Prepend(RelayVariant.Baseline))
                runs.Add((variant, $"{RelaySlot}_{runs.Count}"));
        }
        foreach (var (_, slot) in runs)
            await database.CreateSlotAsync(slot);
        await database.CreateSlotAsync(RecvSlot);
        environment.Kafka.CreateTopic(Topics + ".order", options.Partitions, replicationFactor: 3);

        Progress.Write($"catch-up: writing {options.CatchUpEvents:N0} single-row transactions (pgbench)");
        var written = await PgBench.RunTransactionsAsync(database, "single_row.sql", options.CatchUpEvents, clients: 4);
        var endLsn = await database.CurrentWalLsnAsync();
        var events = await database.CountAsync("SELECT count(*) FROM public.outbox");
        Progress.Write($"catch-up: backlog of {events:N0} transactions written in {written.Elapsed.TotalSeconds:0.0} s, WAL end {endLsn}");

        var recv = await RecvLogical.ReadToAsync(database, RecvSlot, endLsn);
        Progress.Write($"catch-up: pg_recvlogical read it in {recv.TotalSeconds:0.00} s ({events / recv.TotalSeconds:N0} tx/s)");

        var results = new List<CatchUpRun>();
        foreach (var (variant, slot) in runs)
        {
            var settings = new Dictionary<string, string>(options.RelaySettings, StringComparer.Ordinal);
            foreach (var (name, value) in variant.Settings)
                settings[name] = value;
            results.Add(await RunRelayAsync(database, variant.Name, slot, settings, events));
        }

        // The headline is the baseline run with the median time (the only one, unless --repeat).
        var baseline = results.Where(r => r.Variant == RelayVariant.Baseline.Name).OrderBy(r => r.Elapsed).ToList();
        var headline = baseline[(baseline.Count - 1) / 2];

        PollingCatchUpResult? polling = null;
        if (options.Runs("polling"))
            polling = await RunPollingAsync(database, events);
        return new CatchUpResult(events, recv, headline, polling, results);
    }

    private async Task<CatchUpRun> RunRelayAsync(BenchDatabase database, string name, string slot, Dictionary<string, string> settings, long events)
    {
        await using var relay = RelayUnderTest.Start(environment, database, slot, Topics, settings);
        var streamStart = WhenSlotActiveAsync(database, slot, relay);
        // /metrics is read every 100 ms: often enough for ~1% resolution, rarely enough not to load the relay.
        var (firstAck, done) = await relay.WaitForPublishedAsync(events, TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(100));
        var relayCpu = ProcessStats.CpuSeconds(relay.ProcessId);
        var walsender = await database.SlotActivePidAsync(slot);
        var walsenderCpu = walsender is { } pid ? ProcessStats.CpuSeconds(pid) : null;
        var peakRss = ProcessStats.PeakRssBytes(relay.ProcessId);
        await relay.StopAsync();
        var started = await streamStart;
        if (options.ShowRelayOutput)
            Console.Error.WriteLine(relay.Output);
        Progress.Write($"catch-up: {name} delivered it in {done.TotalSeconds:0.00} s ({events / done.TotalSeconds:N0} ev/s; took the slot at " +
                       $"{started.TotalSeconds:0.00} s, first ack at {firstAck.TotalSeconds:0.00} s, streaming {events / (done - started).TotalSeconds:N0} ev/s; " +
                       $"relay CPU {relayCpu:0.0} s, walsender CPU {walsenderCpu:0.0} s)");
        return new CatchUpRun(name, done, started, firstAck, relayCpu, walsenderCpu, peakRss);
    }

    /// <summary>When the relay's walsender took the slot (polled every 5 ms, a cheap catalog read, until it does).</summary>
    private static async Task<TimeSpan> WhenSlotActiveAsync(BenchDatabase database, string slot, RelayUnderTest relay)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT active FROM pg_replication_slots WHERE slot_name = $1", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = slot });
        await command.PrepareAsync();
        while (relay.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (await command.ExecuteScalarAsync() is true)
                return relay.Elapsed;
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
        environment.Kafka.CreateTopic(PollingTopics + ".order", options.Partitions, replicationFactor: 3);

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

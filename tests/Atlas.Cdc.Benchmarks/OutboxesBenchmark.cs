namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 1d (issue 24, <c>--only outboxes</c>): the catch-up of row 1 over three outbox tables of the contract's shape
/// (<c>public.outbox</c> and two more made by <c>sql/007</c>'s <c>atlas_cdc_add_outbox</c>), one relay listing all
/// three (<c>Cdc__Outboxes__a/b/c__Table</c>, a topic template each). The backlog (the catch-up's size, split evenly)
/// is written by three pgbench processes at once, one per table, so the tables' transactions interleave in the WAL.
/// Each round, pg_recvlogical reads the same publication (every table) from its slot, then the relay from its own; all
/// slots are created before the backlog. Timed and counted like row 1 (<see cref="CatchUpBenchmark.RunRelayAsync"/>).
/// </summary>
internal sealed class OutboxesBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const string Topics = "outboxes";

    /// <summary>The outboxes as the relay lists them: name, schema and table.</summary>
    private static readonly (string Name, string Schema)[] s_outboxes = [("a", "public"), ("b", "s2"), ("c", "s3")];

    public async Task<OutboxesResult> RunAsync()
    {
        var database = await environment.CreateRelayDatabaseAsync("bench_outboxes");
        foreach (var (_, schema) in s_outboxes.Skip(1))
            await database.ExecuteAsync($"CALL public.atlas_cdc_add_outbox('{schema}', 'outbox')");

        var settings = new Dictionary<string, string>(options.RelaySettings, StringComparer.Ordinal);
        foreach (var (name, schema) in s_outboxes)
        {
            settings[$"Cdc__Outboxes__{name}__Table"] = $"{schema}.outbox";
            settings[$"Cdc__Outboxes__{name}__TopicTemplate"] = $"{Topics}_{name}.{{aggregate_type}}";
            environment.CreateTopic($"{Topics}_{name}.order");
        }

        var slots = Enumerable.Range(1, options.Repeat).Select(round => (Recv: $"recv_outboxes_{round}", Relay: $"relay_outboxes_{round}")).ToList();
        foreach (var (recv, relay) in slots)
        {
            await database.CreateSlotAsync(recv);
            await database.CreateSlotAsync(relay);
        }

        // One pgbench per table, at once; each writes a third of the backlog (rounded down to whole transactions per client).
        var clients = Math.Max(1, (options.CatchUpClients + s_outboxes.Length - 1) / s_outboxes.Length);
        var perTable = options.CatchUpEvents / s_outboxes.Length / clients * clients;
        var scriptDirectory = Directory.CreateTempSubdirectory("atlas-cdc-bench-outboxes-");
        try
        {
            var workload = await File.ReadAllTextAsync(PgBench.ScriptPath(options.Workload));
            var writers = new List<Task<PgBench.Result>>();
            foreach (var (name, schema) in s_outboxes)
            {
                var script = Path.Combine(scriptDirectory.FullName, $"{name}.sql");
                await File.WriteAllTextAsync(script, workload.Replace("INSERT INTO public.outbox", $"INSERT INTO {schema}.outbox", StringComparison.Ordinal));
                writers.Add(PgBench.RunTransactionsAsync(database, script, perTable, clients));
            }
            Progress.Write($"outboxes: writing {perTable:N0} single-row transactions into each of {s_outboxes.Length} outbox tables at once " +
                           $"(three pgbench processes, {clients} clients each)");
            await Task.WhenAll(writers);
        }
        finally
        {
            scriptDirectory.Delete(recursive: true);
        }
        var endLsn = await database.CurrentWalLsnAsync();
        var events = 0L;
        var perOutbox = new List<long>();
        foreach (var (_, schema) in s_outboxes)
        {
            perOutbox.Add(await database.CountAsync($"SELECT count(*) FROM {schema}.outbox"));
            events += perOutbox[^1];
        }
        Progress.Write($"outboxes: backlog of {events:N0} transactions ({string.Join(" + ", perOutbox.Select(n => n.ToString("N0")))}), WAL end {endLsn}");

        var catchUp = new CatchUpBenchmark(environment, options);
        var runs = new List<CatchUpRun>();
        for (var round = 0; round < slots.Count; round++)
        {
            var (recv, recvCpu) = await RecvLogical.ReadToAsync(database, slots[round].Recv, endLsn);
            Progress.Write($"outboxes: round {round + 1}: pg_recvlogical read it in {recv.TotalSeconds:0.00} s ({events / recv.TotalSeconds:N0} tx/s), CPU {recvCpu:0.00} s");
            var run = await catchUp.RunRelayAsync(database, round + 1, "three outboxes", slots[round].Relay, Topics,
                new Dictionary<string, string>(settings, StringComparer.Ordinal), events, recv);
            runs.Add(run with { RecvLogicalCpuSeconds = recvCpu });
        }
        return new OutboxesResult(events, s_outboxes.Length, runs);
    }
}

/// <summary>Row 1d: the rounds of the three-outbox catch-up.</summary>
internal sealed record OutboxesResult(long Events, int Tables, IReadOnlyList<CatchUpRun> Runs)
{
    /// <summary>The round with the median ratio from process start.</summary>
    public CatchUpRun Relay => Runs.OrderBy(r => r.Ratio).ElementAt((Runs.Count - 1) / 2);

    /// <summary>The round with the median relay CPU per event.</summary>
    public CatchUpRun RelayByCpu => Runs.OrderBy(r => r.CpuMicrosecondsPerEvent ?? double.MaxValue).ElementAt((Runs.Count - 1) / 2);
}

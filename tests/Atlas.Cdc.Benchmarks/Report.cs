using System.Text;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Publishing;

namespace Atlas.Cdc.Benchmarks;

/// <summary>The results as markdown, ready to paste into docs/benchmarks.md. (InvariantGlobalization: numbers format the same everywhere.)</summary>
internal static class Report
{
    /// <summary>Issue 23's targets.</summary>
    private const double CatchUpRatioTarget = 1.0;
    private const double CatchUpCpuTarget = 15; // µs per event, start-up included
    private const double LiveP99OverFloorTarget = 10; // ms over the source floor's p99
    private const double LiveCpuTarget = 150; // µs per event
    private const int PeakRssTargetMib = 192;
    private const double PeakGrowthTarget = 1.15;
    private const double AvroToJsonTarget = 0.8;

    public static string Render(MachineInfo machine, BenchmarkOptions options, string relayBuild, CatchUpResult? catchUp, LiveResult? live,
        BigTransactionResult? big, BackfillResult? backfill, TimeSpan total, OutboxesResult? outboxes = null)
    {
        var text = new StringBuilder();
        text.AppendLine($"## Atlas.Cdc benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        text.AppendLine();
        text.AppendLine("| # | Benchmark | Atlas.Cdc relay | Reference, same run | Target | Met |");
        text.AppendLine("|---|---|---|---|---|---|");
        if (catchUp is { Relay: var c })
        {
            var workload = $"{c.Events:N0} single-row transactions (~{catchUp.PayloadBytes:0} B payloads, written by {catchUp.Writers} pgbench clients) waiting in the slot, " +
                           $"delivered and acknowledged ({Brokers(options)}, {options.Partitions} partitions)";
            var ratios = string.Join(", ", catchUp.Baseline.Select(b => Ratio(b.Ratio, CatchUpRatioTarget)));
            var streamingRatios = string.Join(", ", catchUp.Baseline.Select(b => $"{b.StreamingRatio:0.00}"));
            text.AppendLine(
                $"| 1 | Catch-up: {workload}; median of {catchUp.Baseline.Count} rounds | " +
                $"**{c.Rate:N0} ev/s** ({c.Elapsed.TotalSeconds:0.00} s from process start, of which start-up until it took the slot {c.StreamStart.TotalSeconds:0.00} s; " +
                $"streaming {c.StreamingRate:N0} ev/s) | " +
                $"pg_recvlogical {c.RecvLogicalRate:N0} tx/s ({c.RecvLogical.TotalSeconds:0.00} s) in the same round; **ratio {Ratio(c.Ratio, CatchUpRatioTarget)}** from process start " +
                $"(rounds: {ratios}), {c.StreamingRatio:0.00} streaming (rounds: {streamingRatios}) | " +
                $"ratio ≥ {CatchUpRatioTarget:0.0} from process start | {Met(c.Ratio >= CatchUpRatioTarget)} |");
            var u = catchUp.RelayByCpu;
            var cpus = string.Join(", ", catchUp.Baseline.Select(b => Micro(b.CpuMicrosecondsPerEvent, CatchUpCpuTarget)));
            text.AppendLine(
                $"| 1a | Catch-up as row 1: relay CPU per event, the whole process (every thread, start-up included) from its start to the last acknowledgement; median round | " +
                $"**{Micro(u.CpuMicrosecondsPerEvent, CatchUpCpuTarget)} µs/event** (rounds: {cpus}); {u.StreamingCpuMicrosecondsPerEvent:0.0} without its {Seconds(u.StartupCpuSeconds)} of start-up; " +
                $"librdkafka's own threads {u.ProducerThreadsMicrosecondsPerEvent:0.0} of it | " +
                $"its walsender {u.WalsenderMicrosecondsPerEvent:0.0} µs/event (PostgreSQL's side, not the relay's); mock brokers {Seconds(u.BrokerCpuSeconds)}, not counted | " +
                $"≤ {CatchUpCpuTarget:0} µs/event | {Met(u.CpuMicrosecondsPerEvent <= CatchUpCpuTarget)} |");
            var f = catchUp.FloorOf(u);
            var toFloor = string.Join(", ", catchUp.Baseline.Select(b => $"{catchUp.ToFloor(b):0.0}"));
            text.AppendLine(
                $"| 1c | Client floor, catch-up: the same messages (keys, payloads, five headers of the relay's sizes) produced by kcat to the same brokers with the relay's producer settings, " +
                $"and pg_recvlogical reading the same backlog from its slot; each process's CPU from start to exit | " +
                $"relay {u.CpuMicrosecondsPerEvent:0.0} µs/event: **{catchUp.ToFloor(u):0.0}× the floor** (rounds: {toFloor}) | " +
                $"**floor {f.MicrosecondsPerEvent:0.0} µs/event** = kcat {f.KcatMicrosecondsPerEvent:0.0} ({f.Kcat.TotalSeconds:0.00} s, {f.Events / f.Kcat.TotalSeconds:N0} msg/s) " +
                $"+ pg_recvlogical {f.RecvLogicalMicrosecondsPerEvent:0.0} (same round) | shown, not targeted | n/a |");
        }
        if (catchUp is { AvroRounds: [_, ..] avroRounds })
        {
            var median = avroRounds.OrderBy(p => p.Avro.Rate / p.Json.Rate).ElementAt((avroRounds.Count - 1) / 2);
            var ratios = string.Join(", ", avroRounds.Select(p => Ratio(p.Avro.Rate / p.Json.Rate, AvroToJsonTarget)));
            text.AppendLine(
                $"| 1b | Catch-up as row 1 with Avro values (`Cdc__Value__Format=Avro`, schema registry stand-in), each round right after Json's; median round | " +
                $"**{median.Avro.Rate:N0} ev/s, relay CPU {median.Avro.CpuMicrosecondsPerEvent:0.0} µs/event** (streaming {median.Avro.StreamingRate:N0} ev/s) | " +
                $"Json in the same round {median.Json.Rate:N0} ev/s, relay CPU {median.Json.CpuMicrosecondsPerEvent:0.0} µs/event; **Avro/Json {Ratio(median.Avro.Rate / median.Json.Rate, AvroToJsonTarget)}** (rounds: {ratios}) | " +
                $"Avro ≥ {AvroToJsonTarget:0.0} of Json | {Met(median.Avro.Rate / median.Json.Rate >= AvroToJsonTarget)} |");
        }
        if (outboxes is { Relay: var o })
        {
            var ratios = string.Join(", ", outboxes.Runs.Select(r => $"{r.Ratio:0.00}"));
            var cpus = string.Join(", ", outboxes.Runs.Select(r => $"{r.CpuMicrosecondsPerEvent:0.0}"));
            var oc = outboxes.RelayByCpu;
            var single = catchUp is { Relay: var one }
                ? $"; row 1 (one outbox, this run): ratio {one.Ratio:0.00}, relay CPU {catchUp.RelayByCpu.CpuMicrosecondsPerEvent:0.0} µs/event"
                : "";
            text.AppendLine(
                $"| 1d | Catch-up as row 1 over {outboxes.Tables} outbox tables of the contract's shape (`public.outbox`, `s2.outbox`, `s3.outbox`, the last two by `sql/007`): " +
                $"{outboxes.Events:N0} single-row transactions, a third in each, written at once by {outboxes.Tables} pgbench processes; one relay lists all three " +
                $"(`Cdc__Outboxes__a/b/c__Table`, a topic each); median of {outboxes.Runs.Count} rounds | " +
                $"**{o.Rate:N0} ev/s** ({o.Elapsed.TotalSeconds:0.00} s from process start, took the slot at {o.StreamStart.TotalSeconds:0.00} s; streaming {o.StreamingRate:N0} ev/s); " +
                $"**relay CPU {oc.CpuMicrosecondsPerEvent:0.0} µs/event** (rounds: {cpus}); {oc.StreamingCpuMicrosecondsPerEvent:0.0} without its {Seconds(oc.StartupCpuSeconds)} of start-up | " +
                $"pg_recvlogical reading the same publication {o.RecvLogicalRate:N0} tx/s ({o.RecvLogical.TotalSeconds:0.00} s, {o.RecvLogicalMicrosecondsPerEvent:0.0} µs/event) in the same round; " +
                $"**ratio {o.Ratio:0.00}** from process start (rounds: {ratios}), {o.StreamingRatio:0.00} streaming; its walsender {oc.WalsenderMicrosecondsPerEvent:0.0} µs/event{single} | " +
                $"shown, not targeted | n/a |");
        }
        if (live is { JustStarted: { } started })
            AppendLiveRow(text, "2", $"Live, a relay that has just started: pgbench {live.Rate:N0} single-row tx/s for {live.Seconds} s, " +
                                     $"the load starting {started.StartedAfter?.TotalSeconds:0} s after the relay's process start (seconds after it is ready)", live, started);
        if (live is { Warm: { } warm })
            AppendLiveRow(text, "2a", $"Live, the same relay after it has run for minutes: {live.Rate:N0} tx/s for {live.Seconds} s again, after {live.WarmSeconds} s more of the same load " +
                                      $"(the window starting {warm.StartedAfter?.TotalSeconds:0} s after the relay's start)", live, warm);
        if (live is { Kcat: { } kcat, JustStarted: { } a })
        {
            var windows = new[] { (Name: "just started", Run: a), (Name: "warm", Run: live.Warm) }.Where(w => w.Run is not null).ToList();
            text.AppendLine(
                $"| 2c | Client floor, live: kcat producing the same messages at {live.Rate:N0}/s to the same brokers with the relay's producer settings, " +
                $"plus the source floor's pg_recvlogical (its CPU in each window) | " +
                string.Join("; ", windows.Select(w => $"{w.Name}: relay {w.Run!.CpuMicrosecondsPerEvent:0} µs/event, **{w.Run.CpuMicrosecondsPerEvent / live.FloorMicrosecondsPerEvent(w.Run):0.0}× the floor**")) + " | " +
                string.Join("; ", windows.Select(w => $"{w.Name}: **floor {live.FloorMicrosecondsPerEvent(w.Run!):0.0} µs/event** = kcat {kcat.MicrosecondsPerEvent:0.0} + pg_recvlogical {w.Run!.SourceFloorMicrosecondsPerEvent:0.0}")) +
                " | shown, not targeted | n/a |");
        }
        if (live?.Tracing is { } t)
        {
            var (on, off) = (t.On, t.Off);
            text.AppendLine(
                $"| 2t | Live, tracing on with every event sampled (`Cdc__Tracing__Enabled=true`, `OTEL_TRACES_SAMPLER=always_on`, OTLP/HTTP protobuf to a receiver in the benchmark process): " +
                $"a relay that has just started, pgbench {live.Rate:N0} tx/s for {live.Seconds} s of rows each carrying a sampled `traceparent` in `headers` | " +
                $"**relay CPU {on.CpuMicrosecondsPerEvent:0} µs/event on vs {off.CpuMicrosecondsPerEvent:0} off: {t.ExtraMicrosecondsPerEvent:+0;-0} µs/event for tracing**; " +
                $"**p99 {on.Latency.P99:0.0} ms on vs {off.Latency.P99:0.0} off** (p50 {on.Latency.P50:0.0} vs {off.Latency.P50:0.0}; {on.Latency.Count:N0} of {on.Committed:N0} and {off.Latency.Count:N0} of {off.Committed:N0} events seen); " +
                $"**{t.Spans:N0} relay spans received for {on.Committed:N0} events ({t.Dropped:N0} missing)**" +
                (t.Refused > 0 ? $", {t.Refused} exports refused by the receiver" : "") + " | " +
                $"tracing off: the same rows, the window before, a fresh relay of its own (its walsender {PerEvent(off.BackendCpuSeconds, off.Committed)}; with tracing on {PerEvent(on.BackendCpuSeconds, on.Committed)}); " +
                $"row 2 is tracing off on the usual rows | shown, not targeted | n/a |");
        }
        if (big is { } b)
        {
            var bothUnder = b.First.PeakRss < PeakRssTargetMib * 1048576L && b.Second.PeakRss < PeakRssTargetMib * 1048576L;
            text.AppendLine(
                $"| 3 | Memory: one transaction of {b.First.Events:N0} events ({b.First.PayloadBytes / 1e6:0} MB of payload), then in a fresh relay process one of {b.Second.Events:N0} " +
                $"({b.Second.PayloadBytes / 1e6:0} MB); the relay started as docs/operations.md documents (no memory variables), idle when the transaction commits | " +
                $"**peak RSS {MibAgainst(b.First.PeakRss, PeakRssTargetMib)} and {MibAgainst(b.Second.PeakRss, PeakRssTargetMib)}: {Ratio(b.Growth, PeakGrowthTarget)}×** " +
                $"(idle {Mib(b.First.IdleRss)} / {Mib(b.Second.IdleRss)}); delivered {b.First.Deliver.TotalSeconds:0.0} s and {b.Second.Deliver.TotalSeconds:0.0} s after COMMIT " +
                $"({b.First.Rate:N0} and {b.Second.Rate:N0} ev/s) | " +
                $"with the image's memory settings ({string.Join(" ", MemorySettings.Image.Select(s => $"{s.Key}={s.Value}"))}), a fresh relay on the same transactions: " +
                $"peak RSS {Mib(b.FirstImage.PeakRss)} and {Mib(b.SecondImage.PeakRss)} ({b.ImageGrowth:0.00}×; {b.FirstImage.Deliver.TotalSeconds:0.0} and {b.SecondImage.Deliver.TotalSeconds:0.0} s from process start) | " +
                $"the larger transaction's peak at most {PeakGrowthTarget - 1:P0} above the smaller's; both < {PeakRssTargetMib} MiB | {Met(b.Growth <= PeakGrowthTarget)} growth; {Met(bothUnder)} size |");
        }
        if (catchUp?.Polling is not null || live?.Polling is not null)
        {
            text.AppendLine(
                $"| 4 | Polling relay (baseline, in the benchmark project): poll every {PollingRelay.DefaultIntervalMilliseconds} ms when idle, " +
                $"batches of {PollingRelay.DefaultBatchSize} `FOR UPDATE SKIP LOCKED`, produce, wait for acks, mark `published_at`, commit | " +
                $"see the comparison below | {PollingSummary(catchUp?.Polling, live?.Polling)} | shown, not targeted | n/a |");
        }

        if (backfill is { } f2)
        {
            text.AppendLine(
                $"| 5 | First start with {f2.Events:N0} rows (~100 B payload) already in the outbox: slot created with an exported snapshot, every row published before streaming | " +
                $"**{f2.Rate:N0} ev/s** ({f2.Done.TotalSeconds:0.0} s from process start; {f2.StreamingRate:N0} ev/s from the first acknowledgement); **peak RSS {Mib(f2.PeakRss)}** | " +
                $"shown, no reference | peak RSS < 512 MiB | {Met(f2.PeakRss < 512L * 1024 * 1024)} |");
        }
        if (catchUp?.Polling is not null || live?.Polling is not null)
            AppendComparison(text, catchUp, live);
        if (catchUp is { Runs.Count: > 0 })
            AppendRuns(text, catchUp, options);

        text.AppendLine();
        text.AppendLine("### Machine");
        text.AppendLine();
        text.AppendLine($"- {machine.Cores} cores ({machine.CpuModel}), {machine.MemoryGiB:0.0} GiB memory, Linux {machine.Kernel}");
        text.AppendLine($"- {machine.DotNet}; PostgreSQL {machine.PostgreSql} (fsync on, synchronous_commit on for the live load); " +
                                  $"librdkafka {machine.Librdkafka} mock cluster, {Brokers(options)}, {options.Partitions} partitions per topic, replication factor {options.ReplicationFactor}; " +
                                  $"kcat {machine.Kcat}");
        text.AppendLine($"- PostgreSQL, the mock brokers, the consumer, pgbench and the relay all share those {machine.Cores} cores");
        text.AppendLine($"- load average at start {machine.LoadAverageAtStart}, at end {MachineInfo.LoadAverage()} (above {machine.Cores} means other work shared the machine)");
        text.AppendLine($"- relay: {relayBuild}, started as docs/operations.md documents (`dotnet Atlas.Cdc.dll`, configuration from the environment, logging from appsettings.json, " +
                        $"no memory variables except where row 3 says); producer settings: {ProducerSettingsText(options)}");
        text.AppendLine($"- whole run: {total.TotalMinutes:0.0} min");
        return text.ToString();
    }

    private static void AppendLiveRow(StringBuilder text, string number, string title, LiveResult live, LiveRun r)
    {
        var floor = r.SourceFloor;
        text.AppendLine(
            $"| {number} | {title}; commit → visible to a Kafka consumer (kcat) | " +
            $"**p50 {r.Latency.P50:0.0} ms, p99 {r.Latency.P99:0.0} ms** (p90 {r.Latency.P90:0.0}, max {r.Latency.Max:0.0}; **{r.Latency.Count:N0} of {r.Committed:N0} events**); " +
            $"**relay CPU {Micro(r.CpuMicrosecondsPerEvent, LiveCpuTarget)} µs/event** (librdkafka's own threads {PerEvent(r.ProducerThreadsCpuSeconds, r.Committed)} of it)" +
            (r.RelayHistogram is { Count: > 0 } h ? $"; relay's own histogram, commit → Kafka ack: p50 ≈ {h.Quantile(0.5) * 1000:0} ms, p99 ≈ {h.Quantile(0.99) * 1000:0} ms" : "") + " | " +
            $"{SourceFloor(floor)}; its walsender {PerEvent(r.BackendCpuSeconds, r.Committed)} | " +
            $"p99 ≤ source floor p99 + {LiveP99OverFloorTarget:0} ms; every event seen; relay CPU ≤ {LiveCpuTarget:0} µs/event | " +
            $"{Met(r.Latency.P99 <= floor?.P99 + LiveP99OverFloorTarget)} p99; {Met(r.Missing == 0)} seen; {Met(r.CpuMicrosecondsPerEvent <= LiveCpuTarget)} CPU |");
    }

    private static void AppendComparison(StringBuilder text, CatchUpResult? catchUp, LiveResult? live)
    {
        text.AppendLine();
        text.AppendLine("### Reading the WAL vs polling the table (same loads, same run)");
        text.AppendLine();
        text.AppendLine("| | Atlas.Cdc relay (WAL) | Polling relay |");
        text.AppendLine("|---|---|---|");
        if (catchUp is not null)
        {
            var p = catchUp.Polling;
            text.AppendLine($"| Catch-up, {catchUp.Events:N0} events | {catchUp.Relay.Rate:N0} ev/s ({catchUp.Relay.Elapsed.TotalSeconds:0.0} s from process start) | " +
                                      (p is null ? "not run" : $"{p.Rate:N0} ev/s ({p.Elapsed.TotalSeconds:0.0} s)") + " |");
            if (p is not null)
            {
                text.AppendLine($"| Catch-up: relay process CPU | {Seconds(catchUp.Relay.RelayCpuSeconds)} | {Seconds(p.ProcessCpuSeconds)} |");
                text.AppendLine($"| Catch-up: database backend CPU (walsender / polling connection) | {Seconds(catchUp.Relay.WalsenderCpuSeconds)} | {Seconds(p.BackendCpuSeconds)} |");
                text.AppendLine($"| Catch-up: statements run, rows updated, WAL they wrote | none on the outbox (streams the WAL) | " +
                                          $"{p.Statements.Calls:N0} statements, {p.Table.Updated:N0} rows updated, {p.Statements.WalBytes / 1e6:0.0} MB of WAL |");
            }
        }
        if (live is not null)
        {
            var r = live.JustStarted;
            var p = live.Polling;
            text.AppendLine($"| Live {live.Rate:N0} tx/s: latency p50 / p99 / max | {Latency(r)} | {Latency(p)} |");
            text.AppendLine($"| Live: relay process CPU ({live.Seconds} s of load, each seconds after its start) | {Seconds(r?.ProcessCpuSeconds)} | {Seconds(p?.ProcessCpuSeconds)} |");
            text.AppendLine($"| Live: database backend CPU (walsender / polling connection) | {Seconds(r?.BackendCpuSeconds)} | {Seconds(p?.BackendCpuSeconds)} |");
            text.AppendLine($"| Live: statements run by the relay's role (pg_stat_statements) | {Statements(r)} | {Statements(p)} |");
            text.AppendLine($"| Live: outbox rows updated / dead tuples left / vacuums | {Table(r)} | {Table(p)} |");
        }
    }

    private static void AppendRuns(StringBuilder text, CatchUpResult catchUp, BenchmarkOptions options)
    {
        text.AppendLine();
        text.AppendLine($"### Catch-up rounds on the same backlog ({catchUp.Events:N0} events)");
        text.AppendLine();
        text.AppendLine("| Round | Relay | pg_recvlogical | Relay time | Relay rate | Ratio | Took the slot at | First ack at | Streaming rate | Streaming ratio | Relay CPU | Start-up CPU | Shutdown CPU (not counted) | CPU per event | Streaming CPU per event | librdkafka's threads per event | Walsender CPU per event | kcat (time, CPU per event) | pg_recvlogical CPU per event | Relay / client floor | Mock brokers CPU | Peak RSS |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var run in catchUp.Runs)
        {
            var settings = options.Variants.FirstOrDefault(v => v.Name == run.Variant)?.Settings ?? new Dictionary<string, string>();
            var name = settings.Count == 0 ? run.Variant : $"{run.Variant} ({string.Join(", ", settings.Select(s => $"{s.Key}={s.Value}"))})";
            var floor = catchUp.FloorOf(run);
            text.AppendLine($"| {run.Round} | {name} | {run.RecvLogicalRate:N0} tx/s ({run.RecvLogical.TotalSeconds:0.00} s) | " +
                            $"{run.Elapsed.TotalSeconds:0.00} s | {run.Rate:N0} ev/s | {run.Ratio:0.00} | {run.StreamStart.TotalSeconds:0.00} s | {run.FirstAck.TotalSeconds:0.00} s | " +
                            $"{run.StreamingRate:N0} ev/s | {run.StreamingRatio:0.00} | {Seconds(run.RelayCpuSeconds)} | {Seconds(run.StartupCpuSeconds)} | {Seconds(run.ShutdownCpuSeconds)} | {run.CpuMicrosecondsPerEvent:0.0} µs | " +
                            $"{run.StreamingCpuMicrosecondsPerEvent:0.0} µs | {run.ProducerThreadsMicrosecondsPerEvent:0.0} µs | {run.WalsenderMicrosecondsPerEvent:0.0} µs | " +
                            $"{floor.Kcat.TotalSeconds:0.00} s, {floor.KcatMicrosecondsPerEvent:0.0} µs | {floor.RecvLogicalMicrosecondsPerEvent:0.0} µs | {catchUp.ToFloor(run):0.0} | " +
                            $"{Seconds(run.BrokerCpuSeconds)} | {Mib(run.PeakRss)} |");
        }
    }

    private static string SourceFloor(LatencyStats? floor) => floor is null
        ? "source floor not measured"
        : $"source floor, same rows (pg_recvlogical on a second slot sees the commit; no Kafka): p50 {floor.P50:0.0} ms, p99 {floor.P99:0.0} ms, max {floor.Max:0.0} ms";

    private static string PollingLatency(LiveRun? polling) => polling is null
        ? "polling relay not run"
        : $"polling relay p50 {polling.Latency.P50:0.0} ms, p99 {polling.Latency.P99:0.0} ms";

    private static string PollingSummary(PollingCatchUpResult? catchUp, LiveRun? live)
    {
        var parts = new List<string>();
        if (catchUp is not null)
            parts.Add($"catch-up {catchUp.Rate:N0} ev/s");
        if (live is not null)
            parts.Add($"live p50 {live.Latency.P50:0.0} ms / p99 {live.Latency.P99:0.0} ms; {live.Statements.Calls:N0} statements, {live.Table.Updated:N0} rows updated");
        return string.Join("; ", parts);
    }

    private static string Latency(LiveRun? run) => run is null
        ? "not run"
        : $"{run.Latency.P50:0.0} / {run.Latency.P99:0.0} / {run.Latency.Max:0.0} ms ({run.Latency.Count:N0} of {run.Committed:N0} seen)";

    private static string Statements(LiveRun? run) => run is null
        ? "not run"
        : $"{run.Statements.Calls:N0} statements, {run.Statements.ExecMilliseconds / 1000:0.00} s inside them, {run.Statements.WalBytes / 1e6:0.0} MB of WAL written";

    private static string Table(LiveRun? run) => run is null
        ? "not run"
        : $"{run.Table.Updated:N0} / {run.Table.DeadTuples:N0} / {run.Table.Vacuums}";

    private static string Seconds(double? seconds) => seconds is { } s ? $"{s:0.0} s" : "n/a";

    private static string Mib(long? bytes) => bytes is { } b ? $"{b / 1048576.0:0} MiB" : "n/a";

    private static string Met(bool met) => met ? "met" : "**not met**";

    /// <summary>A ratio held against a target: two decimals, or three where two would print the target itself.</summary>
    private static string Ratio(double? value, double target) => value switch
    {
        null => "n/a",
        { } v when $"{v:0.00}" == $"{target:0.00}" && v != target => $"{v:0.000}",
        { } v => $"{v:0.00}",
    };

    /// <summary>A size held against a limit in MiB: whole MiB, or one decimal where rounding would print the limit itself.</summary>
    private static string MibAgainst(long? bytes, int limitMib) => bytes is { } b && $"{b / 1048576.0:0}" == $"{limitMib}"
        ? $"{b / 1048576.0:0.0} MiB"
        : Mib(bytes);

    private static string PerEvent(double? cpuSeconds, long events) => cpuSeconds is { } seconds ? $"{seconds * 1e6 / events:0} µs/event" : "n/a";

    /// <summary>Microseconds held against a target: one decimal (none from 100 on), or one more where rounding would print the target itself.</summary>
    private static string Micro(double? value, double target)
    {
        if (value is not { } v)
            return "n/a";
        var format = target >= 100 ? "0" : "0.0";
        var text = v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        return text == target.ToString(format, System.Globalization.CultureInfo.InvariantCulture) && v != target
            ? v.ToString(format + (format == "0" ? ".0" : "0"), System.Globalization.CultureInfo.InvariantCulture)
            : text;
    }

    private static string Brokers(BenchmarkOptions options) => options.Brokers == 1 ? "one broker" : $"{options.Brokers} brokers";

    private static string ProducerSettingsText(BenchmarkOptions options)
    {
        var settings = new Dictionary<string, string>(ProducerSettings.Defaults, StringComparer.Ordinal);
        foreach (var (name, value) in options.KafkaProperties())
            settings[name] = value;
        var shown = new[] { "linger.ms", "batch.num.messages", "batch.size", "compression.type" }
            .Where(settings.ContainsKey).Select(n => $"{n}={settings[n]}");
        var other = options.RelaySettings.Where(s => !s.Key.StartsWith("Cdc__Kafka__Properties__", StringComparison.Ordinal))
            .Select(s => $"{s.Key}={s.Value}");
        return string.Join(", ", shown.Concat(other));
    }
}

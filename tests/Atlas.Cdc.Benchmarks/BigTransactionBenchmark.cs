using System.Diagnostics;
using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 3: one INSERT ... SELECT of many ~500-byte events in a single transaction while the relay streams. The
/// clock runs from the moment COMMIT returns to Kafka's acknowledgement of the last event; the relay's peak RSS
/// is the kernel's high-water mark (VmHWM). For scale, pg_recvlogical then reads the same transaction through a
/// second slot created beside the relay's (decoding it from WAL and sending it, to /dev/null).
/// </summary>
internal sealed class BigTransactionBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const string RelaySlot = "relay_big";
    private const string RecvSlot = "recv_big";
    private const string Topics = "big";

    public async Task<BigTransactionResult> RunAsync()
    {
        var database = await environment.CreateRelayDatabaseAsync("bench_big");
        await database.CreateSlotAsync(RelaySlot);
        await database.CreateSlotAsync(RecvSlot);
        environment.CreateTopic(Topics + ".order");

        await using var relay = RelayUnderTest.Start(environment, database, RelaySlot, Topics, options.RelaySettings);
        await relay.WaitUntilReadyAsync();
        var idleRss = ProcessStats.RssBytes(relay.ProcessId);
        Progress.Write($"big: idle relay RSS {idleRss / 1048576.0:0} MiB ({ProcessStats.RssBreakdown(relay.ProcessId)})");
        var cpuBefore = ProcessStats.CpuSeconds(relay.ProcessId);

        Progress.Write($"big: inserting {options.BigEvents:N0} events in one transaction");
        var insert = Stopwatch.StartNew();
        await database.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"""
            INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
            SELECT 'order', 'order-' || (g % 1000), 'OrderImported',
                   jsonb_build_object('ts', extract(epoch FROM clock_timestamp()), 'seq', g, 'pad', repeat('x', 440))
            FROM generate_series(1, {options.BigEvents}) AS g
            """));
        insert.Stop();
        var committedAt = relay.Elapsed;
        var endLsn = await database.CurrentWalLsnAsync();
        var payloadBytes = await database.ScalarAsync<long>("SELECT sum(octet_length(payload::text))::bigint FROM public.outbox");
        Progress.Write($"big: committed in {insert.Elapsed.TotalSeconds:0.0} s ({payloadBytes / 1e6:0} MB of payload); waiting for Kafka");

        var (_, done) = await relay.WaitForPublishedAsync(options.BigEvents, TimeSpan.FromMinutes(4), TimeSpan.FromMilliseconds(50));
        var deliver = done - committedAt;
        var peakRss = ProcessStats.PeakRssBytes(relay.ProcessId);
        Progress.Write($"big: relay RSS after the transaction: {ProcessStats.RssBreakdown(relay.ProcessId)}");
        var cpu = ProcessStats.CpuSeconds(relay.ProcessId) - cpuBefore;
        await relay.StopAsync();
        Progress.Write($"big: delivered {deliver.TotalSeconds:0.0} s after COMMIT; peak RSS {peakRss / 1048576.0:0} MiB, relay CPU {cpu:0.0} s");

        var (recv, _) = await RecvLogical.ReadToAsync(database, RecvSlot, endLsn);
        Progress.Write($"big: pg_recvlogical read the same transaction in {recv.TotalSeconds:0.0} s");
        return new BigTransactionResult(options.BigEvents, payloadBytes, insert.Elapsed, deliver, idleRss, peakRss, cpu, recv);
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 3, memory bounded by settings, not by transaction size: one INSERT ... SELECT of ~500-byte events in a single
/// transaction, then a three times larger one, each delivered by a fresh relay process. The relay started as docs/operations.md
/// documents (no memory variables) is idle when the transaction commits; its clock runs from the moment COMMIT returns
/// to Kafka's acknowledgement of the last event. A second relay with the image's memory settings (docs/operations.md, "Memory")
/// then reads the same transaction through its own slot, from process start. Peak RSS is the kernel's high-water mark
/// (VmHWM), so nothing between samples is missed.
/// </summary>
internal sealed class BigTransactionBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const string Topics = "big";

    public async Task<BigTransactionResult> RunAsync()
    {
        var database = await environment.CreateRelayDatabaseAsync("bench_big");
        environment.CreateTopic(Topics + ".order");
        var first = await RunTransactionAsync(database, "first", options.BigEvents);
        var second = await RunTransactionAsync(database, "second", options.BigEventsLarge);
        return new BigTransactionResult(first.Readme, second.Readme, first.Image, second.Image);
    }

    private async Task<(BigTransactionRun Readme, BigTransactionRun Image)> RunTransactionAsync(BenchDatabase database, string name, int events)
    {
        var readmeSlot = $"relay_big_{name}";
        var imageSlot = $"relay_big_{name}_image";
        // All at the same point, before the transaction; the previous transaction's slots are gone (their WAL with them).
        await database.CreateSlotAsync(readmeSlot);
        await database.CreateSlotAsync(imageSlot);

        BigTransactionRun readme;
        long payloadBytes;
        await using (var relay = RelayUnderTest.Start(environment, database, readmeSlot, Topics, options.RelaySettings))
        {
            await relay.WaitUntilReadyAsync();
            var idleRss = ProcessStats.RssBytes(relay.ProcessId);
            Progress.Write($"big ({name}, README): idle relay RSS {idleRss / 1048576.0:0} MiB ({ProcessStats.RssBreakdown(relay.ProcessId)})");
            var cpuBefore = ProcessStats.CpuSeconds(relay.ProcessId);

            Progress.Write($"big ({name}): inserting {events:N0} events in one transaction");
            var insert = Stopwatch.StartNew();
            payloadBytes = await database.ScalarAsync<long>(string.Create(CultureInfo.InvariantCulture, $"""
                WITH inserted AS (
                    INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
                    SELECT 'order', 'order-' || (g % 1000), 'OrderImported',
                           jsonb_build_object('ts', extract(epoch FROM clock_timestamp()), 'seq', g, 'pad', repeat('x', 440))
                    FROM generate_series(1, {events}) AS g
                    RETURNING octet_length(payload::text) AS bytes)
                SELECT sum(bytes)::bigint FROM inserted
                """));
            insert.Stop();
            var committedAt = relay.Elapsed;
            Progress.Write($"big ({name}): committed in {insert.Elapsed.TotalSeconds:0.0} s ({payloadBytes / 1e6:0} MB of payload); waiting for Kafka");

            var (_, done) = await relay.WaitForPublishedAsync(events, TimeSpan.FromMinutes(6), TimeSpan.FromMilliseconds(50));
            var peakRss = ProcessStats.PeakRssBytes(relay.ProcessId);
            Progress.Write($"big ({name}, README): relay RSS after the transaction: {ProcessStats.RssBreakdown(relay.ProcessId)}");
            var cpu = ProcessStats.CpuSeconds(relay.ProcessId) - cpuBefore;
            await relay.StopAsync();
            readme = new BigTransactionRun(events, payloadBytes, done - committedAt, idleRss, peakRss, cpu, FromCommit: true);
            Progress.Write($"big ({name}, README): delivered {readme.Deliver.TotalSeconds:0.0} s after COMMIT; peak RSS {peakRss / 1048576.0:0} MiB, relay CPU {cpu:0.0} s");
        }
        await DropSlotAsync(database, readmeSlot);

        BigTransactionRun image;
        var imageSettings = new Dictionary<string, string>(options.RelaySettings, StringComparer.Ordinal);
        foreach (var (setting, value) in MemorySettings.Image)
            imageSettings[setting] = value;
        await using (var relay = RelayUnderTest.Start(environment, database, imageSlot, Topics, imageSettings))
        {
            var (_, done) = await relay.WaitForPublishedAsync(events, TimeSpan.FromMinutes(6), TimeSpan.FromMilliseconds(50));
            var peakRss = ProcessStats.PeakRssBytes(relay.ProcessId);
            var cpu = ProcessStats.CpuSeconds(relay.ProcessId);
            await relay.StopAsync();
            image = new BigTransactionRun(events, payloadBytes, done, null, peakRss, cpu, FromCommit: false);
            Progress.Write($"big ({name}, image's memory settings): delivered {done.TotalSeconds:0.0} s after process start; peak RSS {peakRss / 1048576.0:0} MiB, relay CPU {cpu:0.0} s");
        }
        await DropSlotAsync(database, imageSlot);

        return (readme, image);
    }

    private static Task DropSlotAsync(BenchDatabase database, string slot) =>
        database.ScalarAsync<object>("SELECT pg_drop_replication_slot($1)", slot);
}

using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 5: a first start on an outbox that already holds many rows (~100 B payloads) and no slot: the relay
/// creates the slot with an exported snapshot and publishes every row before streaming. The clock runs from the
/// process start to Kafka's acknowledgement of the last row; the rate is also given from the first
/// acknowledgement on. Peak RSS is the kernel's high-water mark (VmHWM): it shows memory stays bounded while the
/// rows are read through a cursor under backpressure.
/// </summary>
internal sealed class BackfillBenchmark(BenchEnvironment environment, BenchmarkOptions options)
{
    private const string Slot = "relay_backfill";
    private const string Topics = "backfill";

    public async Task<BackfillResult> RunAsync()
    {
        var database = await environment.CreateRelayDatabaseAsync("bench_backfill");
        environment.CreateTopic(Topics + ".order");
        Progress.Write($"backfill: inserting {options.BackfillEvents:N0} rows before the relay's first start");
        await database.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"""
            INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
            SELECT 'order', 'order-' || (g % 1000), 'OrderPlaced', jsonb_build_object('seq', g, 'pad', repeat('x', 70))
            FROM generate_series(1, {options.BackfillEvents}) AS g
            """));
        await database.ExecuteAsync("VACUUM ANALYZE public.outbox");

        await using var relay = RelayUnderTest.Start(environment, database, Slot, Topics, options.RelaySettings);
        var (firstAck, done) = await relay.WaitForPublishedAsync(options.BackfillEvents, TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(100));
        var peakRss = ProcessStats.PeakRssBytes(relay.ProcessId);
        var cpu = ProcessStats.CpuSeconds(relay.ProcessId);
        await relay.StopAsync();
        var result = new BackfillResult(options.BackfillEvents, firstAck, done, peakRss, cpu);
        Progress.Write($"backfill: {result.Events:N0} rows acknowledged {done.TotalSeconds:0.0} s after process start ({result.Rate:N0} ev/s; " +
                       $"{result.StreamingRate:N0} ev/s from the first acknowledgement); peak RSS {peakRss / 1048576.0:0} MiB");
        return result;
    }
}

/// <summary>Row 5: first-start backfill of rows already in the outbox.</summary>
internal sealed record BackfillResult(long Events, TimeSpan FirstAck, TimeSpan Done, long? PeakRss, double? RelayCpuSeconds)
{
    public double Rate => Events / Done.TotalSeconds;

    public double StreamingRate => Events / (Done - FirstAck).TotalSeconds;
}

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// PostgreSQL's own logical replication client: pgoutput to /dev/null, the fastest anything can read a slot.
/// It stops at <c>--endpos</c>, so its wall time is the time to read the backlog.
/// </summary>
internal static class RecvLogical
{
    /// <summary>Reads the slot to <paramref name="endLsn"/>: its time from process start to exit, and the CPU it used.</summary>
    public static async Task<(TimeSpan Elapsed, double CpuSeconds)> ReadToAsync(BenchDatabase database, string slot, NpgsqlTypes.NpgsqlLogSequenceNumber endLsn)
    {
        string[] arguments =
        [
            "-d", database.LibpqConnectionString, "--slot", slot, "--start", $"--endpos={endLsn}",
            "-o", "proto_version=1", "-o", "publication_names=atlas_cdc_outbox",
            "-f", "/dev/null", "--no-loop",
        ];
        var measured = await ExternalCommand.RunMeasuredAsync(Path.Combine(BenchEnvironment.PostgresBin, "pg_recvlogical"), arguments,
            TimeSpan.FromMinutes(5));
        measured.Result.EnsureSuccess();
        return (measured.Elapsed, measured.CpuSeconds);
    }
}

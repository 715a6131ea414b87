namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// PostgreSQL's own logical replication client: pgoutput to /dev/null, the fastest anything can read a slot.
/// It stops at <c>--endpos</c>, so its wall time is the time to read the backlog.
/// </summary>
internal static class RecvLogical
{
    public static async Task<TimeSpan> ReadToAsync(BenchDatabase database, string slot, NpgsqlTypes.NpgsqlLogSequenceNumber endLsn)
    {
        string[] arguments =
        [
            "-d", database.LibpqConnectionString, "--slot", slot, "--start", $"--endpos={endLsn}",
            "-o", "proto_version=1", "-o", "publication_names=atlas_cdc_outbox",
            "-f", "/dev/null", "--no-loop",
        ];
        var result = (await ExternalCommand.RunAsync(Path.Combine(BenchEnvironment.PostgresBin, "pg_recvlogical"), arguments,
            TimeSpan.FromMinutes(5))).EnsureSuccess();
        return result.Elapsed;
    }
}

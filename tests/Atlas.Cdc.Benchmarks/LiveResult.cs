namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 2 (and row 4's live half): the same pgbench load against the relay just after its start and after it has run
/// for minutes, against the polling relay, and the floors: the source floor (pg_recvlogical seeing the rows, no Kafka)
/// per window, and kcat sending the same messages at the same rate.
/// </summary>
internal sealed record LiveResult(int Rate, int Seconds, int WarmSeconds, LiveRun? JustStarted, LiveRun? Warm, LiveRun? Polling, KcatLiveFloor? Kcat)
{
    /// <summary>The client floor of a window: pg_recvlogical's CPU per event in that window plus kcat's at the same rate.</summary>
    public double? FloorMicrosecondsPerEvent(LiveRun run) => run.SourceFloorMicrosecondsPerEvent + Kcat?.MicrosecondsPerEvent;
}

/// <summary>kcat producing the live rows' messages at the live rate: its CPU over the window, and how many it sent.</summary>
internal sealed record KcatLiveFloor(long Sent, double CpuSeconds)
{
    public double MicrosecondsPerEvent => CpuSeconds * 1e6 / Sent;
}

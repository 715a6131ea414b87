namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 2 (and row 4's live half): the same pgbench load against the relay just after its start and after it has run
/// for minutes, against the polling relay, and the floors: the source floor (pg_recvlogical seeing the rows, no Kafka)
/// per window, and kcat sending the same messages at the same rate.
/// </summary>
internal sealed record LiveResult(int Rate, int Seconds, int WarmSeconds, LiveRun? JustStarted, LiveRun? Warm, LiveRun? Polling, KcatLiveFloor? Kcat)
{
    /// <summary>Row 2t: tracing on (every event sampled) against off, on the same rows (null when not run).</summary>
    public TracingResult? Tracing { get; init; }

    /// <summary>The client floor of a window: pg_recvlogical's CPU per event in that window plus kcat's at the same rate.</summary>
    public double? FloorMicrosecondsPerEvent(LiveRun run) => run.SourceFloorMicrosecondsPerEvent + Kcat?.MicrosecondsPerEvent;
}

/// <summary>kcat producing the live rows' messages at the live rate: its CPU over the window, and how many it sent.</summary>
internal sealed record KcatLiveFloor(long Sent, double CpuSeconds)
{
    public double MicrosecondsPerEvent => CpuSeconds * 1e6 / Sent;
}

/// <summary>
/// Row 2t (issue 25): a just-started relay under the live load with tracing off and, in the next window, one with tracing on
/// and every event sampled, on the same rows (each with a sampled traceparent); the relay spans an OTLP receiver got.
/// </summary>
internal sealed record TracingResult(LiveRun Off, LiveRun On, long Spans, long OtherSpans, long Exports, int Refused)
{
    /// <summary>Events of the tracing-on window without a relay span at the receiver (dropped or never made).</summary>
    public long Dropped => Math.Max(0, On.Committed - Spans);

    /// <summary>Relay CPU per event, tracing on less tracing off.</summary>
    public double? ExtraMicrosecondsPerEvent => On.CpuMicrosecondsPerEvent - Off.CpuMicrosecondsPerEvent;
}

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// One relay run over the catch-up backlog. Times are since the process was started: <see cref="StreamStart"/> when
/// its walsender took the slot (start-up done), <see cref="FirstAck"/> the first acknowledgement, <see cref="Elapsed"/> the last.
/// </summary>
internal sealed record CatchUpRun(string Variant, TimeSpan Elapsed, TimeSpan StreamStart, TimeSpan FirstAck, double? RelayCpuSeconds,
    double? WalsenderCpuSeconds, long? PeakRss)
{
    /// <summary>From taking the slot to the last acknowledgement: the relay's streaming time, start-up excluded.</summary>
    public TimeSpan Streaming => Elapsed - StreamStart;
}

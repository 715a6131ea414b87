namespace Atlas.Cdc.Benchmarks;

/// <summary>Row 1: the same backlog read by pg_recvlogical, delivered by the relay, and (row 4) by the polling relay.</summary>
internal sealed record CatchUpResult(
    long Events,
    TimeSpan RecvLogical,
    CatchUpRun Relay,
    PollingCatchUpResult? Polling,
    IReadOnlyList<CatchUpRun> Runs)
{
    public double RecvLogicalRate => Events / RecvLogical.TotalSeconds;

    /// <summary>From process start to the last acknowledgement, nothing subtracted: the headline.</summary>
    public double RelayRate => Events / Relay.Elapsed.TotalSeconds;

    /// <summary>From taking the slot to the last acknowledgement: what the relay does once started.</summary>
    public double RelayStreamingRate => Events / Relay.Streaming.TotalSeconds;

    public double Ratio => RelayRate / RecvLogicalRate;

    public double StreamingRatio => RelayStreamingRate / RecvLogicalRate;
}

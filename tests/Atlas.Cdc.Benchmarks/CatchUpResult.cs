namespace Atlas.Cdc.Benchmarks;

/// <summary>Row 1: the same backlog read by pg_recvlogical, delivered by the relay, and (row 4) by the polling relay.</summary>
internal sealed record CatchUpResult(
    long Events,
    TimeSpan RecvLogical,
    TimeSpan Relay,
    TimeSpan RelayFirstAck,
    double? RelayCpuSeconds,
    double? WalsenderCpuSeconds,
    long? RelayPeakRss,
    PollingCatchUpResult? Polling)
{
    public double RecvLogicalRate => Events / RecvLogical.TotalSeconds;

    public double RelayRate => Events / Relay.TotalSeconds;

    /// <summary>The relay's rate once it streams (start-up excluded): for profiling, not the headline.</summary>
    public double RelayStreamingRate => Events / (Relay - RelayFirstAck).TotalSeconds;

    public double Ratio => RelayRate / RecvLogicalRate;
}

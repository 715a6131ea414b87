namespace Atlas.Cdc.Benchmarks;

/// <summary>Row 3: one transaction of many events, from COMMIT to the last acknowledgement, and the relay's memory.</summary>
internal sealed record BigTransactionResult(
    long Events,
    long PayloadBytes,
    TimeSpan Insert,
    TimeSpan Deliver,
    long? IdleRss,
    long? PeakRss,
    double? RelayCpuSeconds,
    TimeSpan RecvLogical);

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 3: two transactions (the second three times larger), each delivered by a fresh relay started as docs/operations.md
/// documents and by one with the image's memory settings.
/// </summary>
internal sealed record BigTransactionResult(BigTransactionRun First, BigTransactionRun Second, BigTransactionRun FirstImage, BigTransactionRun SecondImage)
{
    /// <summary>The larger transaction's peak over the smaller's, for the relay as docs/operations.md starts it: at most 1.15 is the target.</summary>
    public double? Growth => (double?)Second.PeakRss / First.PeakRss;

    public double? ImageGrowth => (double?)SecondImage.PeakRss / FirstImage.PeakRss;
}

/// <summary>
/// One relay process delivering one transaction: from COMMIT (an idle relay) or from its process start (a relay
/// started after the commit) to the last acknowledgement, and its memory (VmHWM: the kernel's peak, nothing missed).
/// </summary>
internal sealed record BigTransactionRun(long Events, long PayloadBytes, TimeSpan Deliver, long? IdleRss, long? PeakRss, double? RelayCpuSeconds, bool FromCommit)
{
    public double Rate => Events / Deliver.TotalSeconds;
}

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 1: rounds of pg_recvlogical, kcat (the client floor) and the relay on the same backlog, and (row 4) the
/// polling relay.
/// </summary>
internal sealed record CatchUpResult(long Events, double PayloadBytes, int Writers, PollingCatchUpResult? Polling, IReadOnlyList<CatchUpRun> Runs,
    IReadOnlyList<ClientFloorRound> Floors)
{
    /// <summary>The headline: the baseline relay's round with the median ratio (the round itself, not a mix of rounds).</summary>
    public CatchUpRun Relay => Median(Baseline, r => r.Ratio);

    /// <summary>The baseline relay's round with the median CPU per event (the CPU target's headline; often the same round).</summary>
    public CatchUpRun RelayByCpu => Median(Baseline, r => r.CpuMicrosecondsPerEvent ?? double.MaxValue);

    public IReadOnlyList<CatchUpRun> Baseline => Runs.Where(r => r.Variant == RelayVariant.Baseline.Name).ToList();

    public ClientFloorRound FloorOf(CatchUpRun run) => Floors.Single(f => f.Round == run.Round);

    /// <summary>Relay CPU per event over the client floor's in the same round (shown, not targeted).</summary>
    public double? ToFloor(CatchUpRun run) => run.CpuMicrosecondsPerEvent / FloorOf(run).MicrosecondsPerEvent;

    /// <summary>Avro over Json, round by round (the same backlog, one after the other): rate ratio and CPU per event of each.</summary>
    public IReadOnlyList<(CatchUpRun Json, CatchUpRun Avro)> AvroRounds =>
        [.. Runs.Where(r => r.Variant == RelayVariant.AvroName).Select(a => (Baseline.Single(b => b.Round == a.Round), a))];

    private static CatchUpRun Median(IReadOnlyList<CatchUpRun> runs, Func<CatchUpRun, double> key) =>
        runs.OrderBy(key).ElementAt((runs.Count - 1) / 2);
}

/// <summary>
/// The client floor of one catch-up round (issue 23): what the two clients the relay stands between cost alone,
/// pg_recvlogical reading the backlog from its slot (pgoutput, to /dev/null) and kcat producing the same messages
/// to the same brokers with the relay's producer settings, each timed and its CPU counted from process start to exit.
/// </summary>
internal sealed record ClientFloorRound(int Round, long Events, TimeSpan RecvLogical, double RecvLogicalCpuSeconds, TimeSpan Kcat, double KcatCpuSeconds)
{
    public double RecvLogicalMicrosecondsPerEvent => RecvLogicalCpuSeconds * 1e6 / Events;

    public double KcatMicrosecondsPerEvent => KcatCpuSeconds * 1e6 / Events;

    /// <summary>Both clients' CPU per event, summed.</summary>
    public double MicrosecondsPerEvent => RecvLogicalMicrosecondsPerEvent + KcatMicrosecondsPerEvent;
}

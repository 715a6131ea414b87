namespace Atlas.Cdc.Benchmarks;

/// <summary>Row 1: rounds of pg_recvlogical and the relay on the same backlog, and (row 4) the polling relay.</summary>
internal sealed record CatchUpResult(long Events, double PayloadBytes, int Writers, PollingCatchUpResult? Polling, IReadOnlyList<CatchUpRun> Runs)
{
    /// <summary>The headline: the baseline relay's round with the median ratio (the round itself, not a mix of rounds).</summary>
    public CatchUpRun Relay => Baseline.OrderBy(r => r.Ratio).ElementAt((Baseline.Count - 1) / 2);

    public IReadOnlyList<CatchUpRun> Baseline => Runs.Where(r => r.Variant == RelayVariant.Baseline.Name).ToList();

    /// <summary>Avro over Json, round by round (the same backlog, one after the other): rate ratio and CPU per event of each.</summary>
    public IReadOnlyList<(CatchUpRun Json, CatchUpRun Avro)> AvroRounds =>
        [.. Runs.Where(r => r.Variant == RelayVariant.AvroName).Select(a => (Baseline.Single(b => b.Round == a.Round), a))];
}

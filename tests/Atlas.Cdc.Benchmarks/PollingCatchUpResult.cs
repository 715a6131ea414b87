namespace Atlas.Cdc.Benchmarks;

/// <summary>The polling relay on the catch-up backlog: time, its own CPU, and what it cost the database.</summary>
internal sealed record PollingCatchUpResult(long Events, TimeSpan Elapsed, double? ProcessCpuSeconds, double? BackendCpuSeconds,
    StatementLoad Statements, TableLoad Table)
{
    public double Rate => Events / Elapsed.TotalSeconds;
}

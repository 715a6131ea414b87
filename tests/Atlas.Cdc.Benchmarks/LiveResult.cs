namespace Atlas.Cdc.Benchmarks;

/// <summary>Row 2 (and row 4's live half): the same pgbench load against the relay and the polling relay.</summary>
internal sealed record LiveResult(int Rate, int Seconds, LiveRun? Relay, LiveRun? Polling);

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Row 2 (and row 4's live half): the same pgbench load against the relay, the polling relay, and the source-side
/// floor (pg_recvlogical seeing the rows, no Kafka at all).
/// </summary>
internal sealed record LiveResult(int Rate, int Seconds, LiveRun? Relay, LiveRun? Polling, LatencyStats? SourceFloor);

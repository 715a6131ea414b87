namespace Atlas.Cdc.Benchmarks;

/// <summary>The outbox table's counters: inserts, updates, HOT updates, dead tuples, vacuums, scans.</summary>
internal sealed record TableLoad(long Inserted, long Updated, long HotUpdated, long DeadTuples, long Vacuums, long Scans);

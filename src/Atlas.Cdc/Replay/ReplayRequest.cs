using Atlas.Cdc.Events;

namespace Atlas.Cdc.Replay;

/// <summary>What <c>replay</c> was asked to do.</summary>
internal sealed record ReplayRequest(RowFilter Filter, bool DeadLetters, bool DryRun, int MaxRate);

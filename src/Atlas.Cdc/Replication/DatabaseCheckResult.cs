namespace Atlas.Cdc.Replication;

/// <summary>What the start-up checks found: the slot as it was, and whether the outbox has the optional headers column.</summary>
internal sealed record DatabaseCheckResult(SlotInfo Slot, bool HasHeadersColumn);

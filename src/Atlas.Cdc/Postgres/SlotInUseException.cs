namespace Atlas.Cdc.Postgres;

/// <summary>Another relay streams from the slot; this one waits as a standby.</summary>
internal sealed class SlotInUseException(string slot, Exception? inner)
    : Exception($"Replication slot '{slot}' is active in another session", inner);

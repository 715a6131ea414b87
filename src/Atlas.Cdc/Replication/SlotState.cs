namespace Atlas.Cdc.Replication;

/// <summary>The relay's slot as pg_replication_slots shows it, or <see cref="Exists"/> false.</summary>
internal sealed record SlotState(bool Exists, ulong ConfirmedFlushLsn);

namespace Atlas.Cdc.Retention;

/// <summary>
/// A fact observed at one moment: every transaction with an id below <see cref="OldestRunningXid"/> had ended,
/// and its commit record (if it committed) lay before <see cref="WalInsertLsn"/>. Once the slot's confirmed LSN
/// reaches <see cref="WalInsertLsn"/>, rows inserted by those transactions are delivered.
/// </summary>
internal readonly record struct RetentionCheckpoint(ulong OldestRunningXid, ulong WalInsertLsn);

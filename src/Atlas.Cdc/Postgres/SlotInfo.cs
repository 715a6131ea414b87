namespace Atlas.Cdc.Postgres;

/// <summary>The relay's slot as one row of pg_replication_slots showed it, or <see cref="Exists"/> false.</summary>
internal sealed record SlotInfo
{
    public static readonly SlotInfo Missing = new();

    public bool Exists { get; init; }

    public string? Plugin { get; init; }

    public string? SlotType { get; init; }

    public string? Database { get; init; }

    public ulong ConfirmedFlushLsn { get; init; }

    /// <summary>0 when unknown (a lost slot has none).</summary>
    public ulong RestartLsn { get; init; }

    /// <summary><c>reserved</c>, <c>extended</c>, <c>unreserved</c> or <c>lost</c> (PostgreSQL 13+).</summary>
    public string? WalStatus { get; init; }

    /// <summary>The backend streaming from the slot, or null when no one holds it.</summary>
    public int? ActivePid { get; init; }

    /// <summary>The server's pg_current_wal_lsn() at the same moment.</summary>
    public ulong ServerWalLsn { get; init; }

    /// <summary>Invalidated by max_slot_wal_keep_size: the WAL it needed is gone and it can never stream again.</summary>
    public bool IsLost => Exists && WalStatus == "lost";
}

using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Postgres;

/// <summary>
/// Every read of the relay's slot in pg_replication_slots, in one query: start-up checks, the slot-statistics
/// metrics, "do we hold the slot", the final confirmation, retention and progress all use it.
/// </summary>
internal static class SlotCatalog
{
    private const string Query =
        "SELECT plugin, slot_type, database, confirmed_flush_lsn, restart_lsn, wal_status, active_pid, " +
        "CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END " +
        "FROM pg_replication_slots WHERE slot_name = $1";

    /// <summary>Reads the slot over an ordinary connection; <see cref="SlotInfo.Missing"/> when there is none.</summary>
    public static async Task<SlotInfo> ReadAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Query, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = slot });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return SlotInfo.Missing;
        return new SlotInfo
        {
            Exists = true,
            Plugin = reader.IsDBNull(0) ? null : reader.GetString(0),
            SlotType = reader.GetString(1),
            Database = reader.IsDBNull(2) ? null : reader.GetString(2),
            ConfirmedFlushLsn = Lsn(reader, 3),
            RestartLsn = Lsn(reader, 4),
            WalStatus = reader.IsDBNull(5) ? null : reader.GetString(5),
            ActivePid = reader.IsDBNull(6) ? null : reader.GetInt32(6),
            ServerWalLsn = Lsn(reader, 7),
        };
    }

    /// <summary>The slot's confirmed_flush_lsn as PostgreSQL holds it, or 0 when the slot (or the value) is missing.</summary>
    public static async Task<ulong> ConfirmedFlushLsnAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken) =>
        (await ReadAsync(connection, slot, cancellationToken)).ConfirmedFlushLsn;

    private static ulong Lsn(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? 0 : (ulong)reader.GetFieldValue<NpgsqlLogSequenceNumber>(ordinal);
}

using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Replication;

/// <summary>Reads of the relay's slot in pg_replication_slots, over an ordinary connection.</summary>
internal static class SlotQueries
{
    /// <summary>The slot's confirmed_flush_lsn as PostgreSQL holds it, or 0 when the slot (or the value) is missing.</summary>
    public static async Task<ulong> ConfirmedFlushLsnAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = slot });
        return await command.ExecuteScalarAsync(cancellationToken) is NpgsqlLogSequenceNumber lsn ? (ulong)lsn : 0;
    }
}

using Npgsql;

namespace Atlas.Cdc.Recovery;

/// <summary>
/// A session advisory lock per slot, held from the moment a relay looks at the slot until it streams from it.
/// Between creating a slot and streaming from it a relay publishes the backfill or recovery, and the slot is
/// free to take: without the claim a standby could start streaming newer events before those older ones, or run
/// the same backfill twice. Once a relay streams, the slot itself keeps the others out, and the claim is let go
/// (a frozen relay must not keep it: PostgreSQL frees its slot after wal_sender_timeout). The lock dies with its
/// connection, so a killed relay never leaves it behind.
/// </summary>
internal sealed class SlotClaim : IAsyncDisposable
{
    private NpgsqlConnection? _connection;

    private SlotClaim(NpgsqlConnection connection) => _connection = connection;

    /// <summary>Takes the claim, or returns null when another relay holds it.</summary>
    public static async Task<SlotClaim?> TryTakeAsync(string connectionString, string slot, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtext('atlas_cdc'), hashtext($1))", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = slot });
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
                return new SlotClaim(connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        await connection.DisposeAsync();
        return null;
    }

    /// <summary>Lets the claim go (closing the connection releases the lock); safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _connection, null) is { } connection)
            await connection.DisposeAsync();
    }
}

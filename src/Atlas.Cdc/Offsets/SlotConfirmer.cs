using Atlas.Cdc.Postgres;
using Npgsql;
using Npgsql.Replication;
using NpgsqlTypes;

namespace Atlas.Cdc.Offsets;

/// <summary>
/// Tells PostgreSQL, over the session's replication connection, the position <see cref="ConfirmationPolicy"/>
/// allows, and at the end of a session waits until the slot shows it.
/// </summary>
internal sealed class SlotConfirmer(
    LogicalReplicationConnection connection,
    ConfirmationPolicy policy,
    string slot,
    string queryConnectionString,
    Action<ulong> confirmed,
    ILogger logger)
{
    /// <summary>The position last confirmed to the server.</summary>
    public ulong Confirmed => policy.Confirmed;

    /// <summary>Sends the position the policy allows, if it moved.</summary>
    public async Task ConfirmAsync(CancellationToken cancellationToken)
    {
        if (policy.Next() is not { } lsn)
            return;
        connection.SetReplicationStatus(new NpgsqlLogSequenceNumber(lsn));
        try
        {
            await connection.SendStatusUpdate(cancellationToken);
        }
        catch (InvalidOperationException)
        {
            // Not streaming (yet or any more): Npgsql sends the value with its next status update, if there is one.
            return;
        }
        policy.MarkConfirmed(lsn);
        confirmed(lsn);
    }

    /// <summary>A last confirmation at the end of a session; a connection that no longer allows it is only logged.</summary>
    public async Task TryConfirmAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await ConfirmAsync(timeout.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogDebug("Final confirmation skipped: {Reason}", e.Message);
        }
    }

    /// <summary>
    /// SendStatusUpdate only puts the position on the socket. Ending the stream cancels it (Npgsql sends a cancel
    /// request), and the walsender can then release the slot before it has read that last status: the slot keeps
    /// the previous confirmation and the next relay (a standby taking over at once) resends up to a confirm
    /// interval of events. So the stream is ended only once pg_replication_slots shows the final position.
    /// </summary>
    public async Task WaitForServerToConfirmAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        ulong serverConfirmed = 0;
        try
        {
            await using var query = new NpgsqlConnection(queryConnectionString);
            await query.OpenAsync(timeout.Token);
            while (true)
            {
                serverConfirmed = await SlotCatalog.ConfirmedFlushLsnAsync(query, slot, timeout.Token);
                if (serverConfirmed >= Confirmed)
                    return;
                await connection.SendStatusUpdate(timeout.Token);
                await Task.Delay(20, timeout.Token);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("PostgreSQL shows slot {Slot} confirmed to {ServerLsn}, not the final {Lsn} ({Reason}): the next start may send the events in between again",
                slot, new NpgsqlLogSequenceNumber(serverConfirmed), new NpgsqlLogSequenceNumber(Confirmed), e.Message);
        }
    }
}

using Atlas.Cdc.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Offsets;

/// <summary>
/// Reads and writes the slot's row in <c>public.atlas_cdc_progress</c> (sql/006_relay_progress.sql). The horizon
/// only moves forward, and never while a backfill or recovery is pending: during one, the slot has been
/// (re)created and confirms positions whose rows are not published yet.
/// </summary>
internal static class ProgressStore
{
    public const string Table = "public.atlas_cdc_progress";

    /// <summary>The slot's row, or null when none was ever written.</summary>
    public static async Task<ProgressRecord?> ReadAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = new NpgsqlCommand(
                $"SELECT horizon_xid, horizon_lsn, pending FROM {Table} WHERE slot_name = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = slot });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
                return null;
            DeliveryHorizon? horizon = reader.IsDBNull(0) || reader.IsDBNull(1)
                ? null
                : new DeliveryHorizon(reader.GetFieldValue<ulong>(0), (ulong)reader.GetFieldValue<NpgsqlLogSequenceNumber>(1));
            return new ProgressRecord(horizon, reader.IsDBNull(2) ? null : reader.GetString(2));
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new FatalConfigurationException(
                $"The relay records its progress in {Table}, which it cannot read ({e.SqlState}: {e.MessageText}). " +
                "Apply sql/006_relay_progress.sql (it creates the table and grants the relay's role what it needs).", e);
        }
    }

    /// <summary>Marks a backfill or recovery as started, keeping the recorded horizon; creates the row if needed.</summary>
    public static Task MarkPendingAsync(NpgsqlConnection connection, string slot, string pending, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(
            $"INSERT INTO {Table} (slot_name, pending) VALUES ($1, $2) " +
            "ON CONFLICT (slot_name) DO UPDATE SET pending = EXCLUDED.pending, updated_at = now()",
            cancellationToken, slot, pending);

    /// <summary>A slot that needs no backfill (Cdc:Snapshot=Never, or one that existed before progress was recorded).</summary>
    public static Task InsertIfMissingAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken) =>
        connection.ExecuteAsync($"INSERT INTO {Table} (slot_name) VALUES ($1) ON CONFLICT (slot_name) DO NOTHING", cancellationToken, slot);

    /// <summary>Every row the backfill or recovery had to publish is acknowledged: clear the mark, record the horizon it proved.</summary>
    public static Task CompleteAsync(NpgsqlConnection connection, string slot, DeliveryHorizon horizon, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(
            $"UPDATE {Table} SET pending = NULL, updated_at = now(), " +
            "horizon_lsn = CASE WHEN horizon_xid IS NULL OR horizon_xid < $2 THEN $3 ELSE horizon_lsn END, " +
            "horizon_xid = CASE WHEN horizon_xid IS NULL OR horizon_xid < $2 THEN $2 ELSE horizon_xid END " +
            "WHERE slot_name = $1",
            cancellationToken, slot, Xid8(horizon.Xid), PgLsn(horizon.Lsn));

    /// <summary>The outbox tables (schema.table) the slot's relay has covered, or null when none were recorded yet.</summary>
    public static async Task<IReadOnlyList<string>?> ReadOutboxesAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.ScalarAsync<string[]>($"SELECT outboxes FROM {Table} WHERE slot_name = $1", cancellationToken, slot);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedColumn)
        {
            throw new FatalConfigurationException(
                $"{Table} has no column outboxes: apply sql/008_progress_outboxes.sql (upgrading applies every file of sql/ again).", e);
        }
    }

    /// <summary>Records the outbox tables the slot's relay now covers.</summary>
    public static Task RecordOutboxesAsync(NpgsqlConnection connection, string slot, IEnumerable<string> tables, CancellationToken cancellationToken) =>
        connection.ExecuteAsync($"UPDATE {Table} SET outboxes = $2, updated_at = now() WHERE slot_name = $1",
            cancellationToken, slot, tables.Order(StringComparer.Ordinal).ToArray());

    /// <summary>
    /// Records a newly proven horizon if it is newer and nothing is pending; returns the horizon now recorded
    /// (null while none is, or while a backfill or recovery is pending).
    /// </summary>
    public static async Task<DeliveryHorizon?> AdvanceAsync(NpgsqlConnection connection, string slot, DeliveryHorizon? proven,
        CancellationToken cancellationToken)
    {
        if (proven is { } horizon)
            await connection.ExecuteAsync(
                $"UPDATE {Table} SET horizon_xid = $2, horizon_lsn = $3, updated_at = now() " +
                "WHERE slot_name = $1 AND pending IS NULL AND (horizon_xid IS NULL OR horizon_xid < $2)",
                cancellationToken, slot, Xid8(horizon.Xid), PgLsn(horizon.Lsn));
        var record = await ReadAsync(connection, slot, cancellationToken);
        return record is { Pending: null } ? record.Horizon : null;
    }

    /// <summary>
    /// Rows noted by the deletion trigger of sql/006 whose inserting transaction is not below
    /// <paramref name="horizon"/> (every noted row when null): deleted before they were proven delivered. They are
    /// removed from the note as they are returned, so each is reported once. Returns their count and a few ids.
    /// </summary>
    public static async Task<(int Count, List<string> Sample, List<string> DeletedBy)> TakeUnprovenDeletionsAsync(NpgsqlConnection connection,
        DeliveryHorizon? horizon, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "DELETE FROM public.atlas_cdc_unproven_deletions WHERE $1 OR age(inserted_xid) <= age($2) RETURNING id::text, deleted_by::text", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = horizon is null });
        command.Parameters.Add(new NpgsqlParameter { Value = horizon?.Xid32 ?? 3u, NpgsqlDbType = NpgsqlDbType.Xid });
        var sample = new List<string>();
        var deletedBy = new SortedSet<string>(StringComparer.Ordinal);
        var count = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            count++;
            if (sample.Count < 5)
                sample.Add(reader.GetString(0));
            deletedBy.Add(reader.GetString(1));
        }
        return (count, sample, [.. deletedBy]);
    }

    private static NpgsqlParameter Xid8(ulong xid) => new() { Value = xid, NpgsqlDbType = NpgsqlDbType.Xid8 };

    private static NpgsqlParameter PgLsn(ulong lsn) => new() { Value = new NpgsqlLogSequenceNumber(lsn), NpgsqlDbType = NpgsqlDbType.PgLsn };
}

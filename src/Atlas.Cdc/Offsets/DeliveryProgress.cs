using Atlas.Cdc.Configuration;
using Atlas.Cdc.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Offsets;

/// <summary>
/// Proves delivery horizons and records the newest in the database (the argument is in
/// Retention/OutboxRetention.cs): each call reads X = the oldest running transaction id, then W = the WAL insert
/// position, and keeps (X, W); a kept pair is proven once the slot's confirmed LSN reaches W, and then written to
/// atlas_cdc_progress. Retention deletes below the <em>recorded</em> horizon only, so that a row it deletes is a row
/// a recovery would never need. Called by <see cref="ProgressRecorder"/> and by retention, one at a time, only
/// while this relay streams from the slot.
/// </summary>
internal sealed class DeliveryProgress(CdcOptions options)
{
    private const int MaxPendingCheckpoints = 1000;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Queue<DeliveryHorizon> _candidates = new();
    private DeliveryHorizon? _proven;

    /// <summary>Observes a new candidate, proves what the slot confirmed, records it; returns the horizon recorded now.</summary>
    public async Task<DeliveryHorizon?> ProveAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // Two statements, in this order: X must be read before W.
            var oldestRunning = await connection.ScalarAsync<ulong>("SELECT pg_snapshot_xmin(pg_current_snapshot())", cancellationToken);
            var walInsert = await connection.ScalarAsync<NpgsqlLogSequenceNumber>("SELECT pg_current_wal_insert_lsn()", cancellationToken);
            if (_candidates.Count == MaxPendingCheckpoints)
                _candidates.Dequeue(); // the slot has not moved for a long time; fewer candidates only prove later
            _candidates.Enqueue(new DeliveryHorizon(oldestRunning, (ulong)walInsert));

            var confirmed = await SlotCatalog.ConfirmedFlushLsnAsync(connection, options.Slot, cancellationToken);
            while (_candidates.TryPeek(out var next) && next.Lsn <= confirmed)
                _proven = _candidates.Dequeue();
            return await ProgressStore.AdvanceAsync(connection, options.Slot, _proven, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }
}

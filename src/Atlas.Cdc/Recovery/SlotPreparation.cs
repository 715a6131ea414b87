using System.Diagnostics;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Postgres;
using Atlas.Cdc.Publishing;
using Atlas.Cdc.Reading;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using NpgsqlTypes;

namespace Atlas.Cdc.Recovery;

/// <summary>
/// Makes the slot ready to stream from, so that no committed outbox row is ever skipped. Runs under the
/// <see cref="SlotClaim"/>, before replication starts, and decides from the slot and the progress row:
/// <list type="table">
/// <item><term>slot streamable, progress recorded</term><description>stream.</description></item>
/// <item><term>slot streamable, no progress row</term><description>a slot created before progress was recorded
/// (an upgrade, or a slot made at provisioning): stream, and record from now on.</description></item>
/// <item><term>no slot, no progress row</term><description>first start: with Cdc:Snapshot=Initial create the slot
/// with an exported snapshot and publish every row visible in it (the <em>backfill</em>); with Never just create
/// it.</description></item>
/// <item><term>no slot, or slot lost, with progress recorded</term><description><em>recovery</em>: drop a lost
/// slot, create one with an exported snapshot, publish every row of it not proven delivered.</description></item>
/// <item><term>slot streamable, backfill or recovery pending</term><description>the relay stopped during one:
/// publish again every row not proven delivered, from a fresh snapshot.</description></item>
/// </list>
/// </summary>
/// <remarks>
/// <para>Why nothing is lost. A slot created at consistent point L streams every transaction that commits after
/// L; its exported snapshot shows exactly those that committed before L. So the rows of that snapshot, then the
/// stream, cover every row. The progress row is marked pending <em>before</em> the slot is created and cleared
/// only once Kafka acknowledged every row published from the table; until then the relay never streams, so the
/// slot stays confirmed at L.</para>
/// <para>If the relay stops during the publication (SIGKILL, crash), the next start finds the slot with the mark
/// still set. The exported snapshot died with the old connection, so the rows are read in a fresh snapshot
/// instead: every row committed before L is still in it (nothing deletes a row that is not proven delivered:
/// retention deletes only below the recorded horizon), so the rows not proven delivered are all published again,
/// plus rows committed after L, which the slot then streams once more: duplicates, never a loss.</para>
/// <para>Rows are published again only from the recorded horizon X on (inserting transaction id not below X);
/// rows below it were proven delivered. When done, the new horizon is the snapshot's xmin: every transaction
/// below it had ended, so those that committed were in the snapshot, hence published, or below X.</para>
/// </remarks>
internal sealed class SlotPreparation(
    CdcOptions options,
    OutboxCatalog outboxes,
    KafkaPublisher publisher,
    Action<AcknowledgementTracker> backfilling,
    RelayMetrics metrics,
    ILogger logger)
{
    private const int BatchSize = 1000;

    private readonly string _connectionString = PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString);

    /// <summary>The tracker of the backfill or recovery, once one started; its acknowledgements may still be due.</summary>
    public AcknowledgementTracker? Tracker { get; private set; }

    /// <summary>Returns the slot to stream from, and whether it was created now.</summary>
    public async Task<(SlotInfo Slot, bool Created)> PrepareAsync(LogicalReplicationConnection replication, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        var slot = await SlotCatalog.ReadAsync(connection, options.Slot, cancellationToken);
        var progress = await ProgressStore.ReadAsync(connection, options.Slot, cancellationToken);

        if (slot.Exists && !slot.IsLost)
        {
            if (progress is null)
            {
                await ProgressStore.InsertIfMissingAsync(connection, options.Slot, cancellationToken);
                await RecordCoveredAsync(connection, cancellationToken);
                logger.LogInformation("Slot {Slot} exists and no progress was recorded for it (created before this version, or at provisioning): " +
                                      "streaming from it; the delivery horizon is recorded from now on", options.Slot);
                return (slot, false);
            }
            if (progress.Pending is null)
            {
                await BackfillAddedOutboxesAsync(connection, cancellationToken);
                return (slot, false);
            }

            logger.LogWarning("The {Work} of slot {Slot} did not finish (the relay stopped during it; {Progress}): publishing again every row not proven delivered, then streaming",
                progress.Pending, options.Slot, progress);
            await PublishFromTableAsync(connection, progress, progress.Pending, snapshotName: null, consistentPoint: null, cancellationToken);
            return (await SlotCatalog.ReadAsync(connection, options.Slot, cancellationToken), false);
        }

        string work;
        if (progress is null)
        {
            if (options.Snapshot == SnapshotMode.Never)
            {
                var created = await CreateSlotAsync(replication, LogicalSlotSnapshotInitMode.NoExport, cancellationToken);
                await ProgressStore.InsertIfMissingAsync(connection, options.Slot, cancellationToken);
                await RecordCoveredAsync(connection, cancellationToken);
                logger.LogInformation("Created replication slot {Slot} (pgoutput) at LSN {Lsn}; Cdc:Snapshot is Never, so rows written before it are not relayed",
                    options.Slot, created.ConsistentPoint);
                return (await SlotCatalog.ReadAsync(connection, options.Slot, cancellationToken), true);
            }
            work = ProgressRecord.Backfill;
            progress = new ProgressRecord(null, work);
        }
        else
        {
            // A first-start backfill that stopped before its slot existed stays a backfill; anything else is a lost slot.
            work = progress.Pending ?? ProgressRecord.Recovery;
            if (work == ProgressRecord.Recovery)
                metrics.SlotRecoveries.Add(1);
        }
        // Marked before the slot exists: from here until the mark is cleared, a restart publishes again.
        await ProgressStore.MarkPendingAsync(connection, options.Slot, work, cancellationToken);
        if (slot.IsLost)
        {
            logger.LogWarning("Dropping replication slot {Slot}: PostgreSQL invalidated it (wal_status lost, max_slot_wal_keep_size exceeded)", options.Slot);
            await replication.DropReplicationSlot(options.Slot, wait: false, cancellationToken);
        }
        var exported = await CreateSlotAsync(replication, LogicalSlotSnapshotInitMode.Export, cancellationToken);
        await PublishFromTableAsync(connection, progress with { Pending = work }, work, exported.SnapshotName, (ulong)exported.ConsistentPoint,
            cancellationToken, slotWas: slot);
        return (await SlotCatalog.ReadAsync(connection, options.Slot, cancellationToken), true);
    }

    /// <summary>Records every configured outbox table as covered by this slot.</summary>
    private Task RecordCoveredAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        ProgressStore.RecordOutboxesAsync(connection, options.Slot, outboxes.All.Select(o => o.Table.ToString()), cancellationToken);

    /// <summary>
    /// An outbox listed since the slot's relay last recorded what it covers: its rows so far are published on their
    /// own, from a snapshot taken now, and the others are left alone. The stream goes on from the slot's position,
    /// so rows of the new table committed between that position and the snapshot come twice (duplicates, never a
    /// loss); a stop before the end publishes them again at the next start. With nothing recorded (a relay from
    /// before several outboxes), the tables configured now are taken as the covered ones: nothing is published again.
    /// </summary>
    private async Task BackfillAddedOutboxesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var covered = await ProgressStore.ReadOutboxesAsync(connection, options.Slot, cancellationToken);
        var added = covered is null ? [] : outboxes.All.Where(o => !covered.Contains(o.Table.ToString())).ToList();
        if (added.Count == 0)
        {
            if (covered is null || outboxes.All.Count != covered.Count)
                await RecordCoveredAsync(connection, cancellationToken);
            return;
        }

        var stopwatch = Stopwatch.StartNew();
        await using var reader = await OutboxTableReader.OpenAsync(options.Postgres.ConnectionString, outboxes, snapshotName: null, cancellationToken);
        var commitLsnBound = await reader.WalInsertLsnAsync(cancellationToken);
        var filter = new RowFilter { Outboxes = [.. added.Select(o => o.Name)] };
        var count = await reader.CountAsync(filter, cancellationToken);
        logger.LogInformation("New to slot {Slot}: {Outboxes}; publishing its {Rows} rows on their own, in {Order}, then streaming every outbox",
            options.Slot, string.Join(", ", added), count, reader.OrderDescription);
        var published = await PublishRowsAsync(reader, filter, commitLsnBound, count, ProgressRecord.Backfill, metrics.EventsBackfilled, cancellationToken);
        await RecordCoveredAsync(connection, cancellationToken);
        logger.LogInformation("The backfill of {Outboxes} is complete: {Published} events acknowledged by Kafka in {Elapsed:F1} s",
            string.Join(", ", added), published, stopwatch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Publishes the matching rows under backpressure and waits until Kafka acknowledged them all; returns how many,
    /// and adds them to <paramref name="acknowledged"/> by outbox. Stopped by shutdown, it lets what was sent be
    /// acknowledged first; nothing is recorded, so the next start publishes them again.
    /// </summary>
    private async Task<long> PublishRowsAsync(OutboxTableReader reader, RowFilter filter, ulong commitLsnBound, long count, string work,
        OutboxCounter acknowledged, CancellationToken cancellationToken)
    {
        var tracker = new AcknowledgementTracker(options.MaxInFlightEvents, options.MaxInFlightBytes);
        Tracker = tracker;
        backfilling(tracker);
        var tablePublisher = new TablePublisher(publisher, tracker);
        try
        {
            var published = await tablePublisher.PublishAsync(reader.ReadAsync(filter, BatchSize, EventOrigin.Snapshot, cancellationToken),
                commitLsnBound, maxRate: 0,
                sent => logger.LogInformation("{Work} of slot {Slot}: {Sent} of {Rows} rows sent", work, options.Slot, sent, count),
                cancellationToken);
            foreach (var (outbox, sent) in tablePublisher.SentByOutbox)
                acknowledged.Add(outbox, sent);
            return published;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await tracker.WaitForDrainAsync(options.ShutdownTimeout, CancellationToken.None);
            logger.LogInformation("Stopped during the {Work} of slot {Slot} after {Sent} of {Rows} rows; the next start publishes them again", work, options.Slot, tablePublisher.Sent, count);
            throw;
        }
    }

    private async Task<PgOutputReplicationSlot> CreateSlotAsync(LogicalReplicationConnection replication, LogicalSlotSnapshotInitMode mode,
        CancellationToken cancellationToken)
    {
        try
        {
            return await replication.CreatePgOutputReplicationSlot(options.Slot, temporarySlot: false, slotSnapshotInitMode: mode,
                cancellationToken: cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateObject)
        {
            // Created by something that holds no claim (not a relay) a moment ago: start over and look again.
            throw new InvalidOperationException($"Replication slot '{options.Slot}' was created by someone else while this relay prepared it.", e);
        }
    }

    /// <summary>
    /// Rows not proven delivered that are gone from the table (deleted by hand: retention never deletes them) can
    /// not be published again: say so loudly, count them, and go on.
    /// </summary>
    private async Task ReportUnprovenDeletionsAsync(NpgsqlConnection connection, DeliveryHorizon? horizon, CancellationToken cancellationToken)
    {
        var (missing, sample, deletedBy) = await ProgressStore.TakeUnprovenDeletionsAsync(connection, horizon, cancellationToken);
        if (missing == 0)
            return;
        metrics.RowsMissing.Add(missing);
        logger.LogError("{Missing} rows of {Table} not proven delivered were deleted before this recovery of slot {Slot} (by {DeletedBy}; ids {Sample}...): " +
                        "their events may never have reached Kafka and cannot be published again from the table",
            missing, outboxes, options.Slot, string.Join(", ", deletedBy), string.Join(", ", sample));
    }

    /// <summary>
    /// Publishes every row not proven delivered, in one snapshot (the exported one when given), waits for Kafka to
    /// acknowledge them all, then clears the pending mark and records the horizon this proved.
    /// </summary>
    private async Task PublishFromTableAsync(NpgsqlConnection connection, ProgressRecord progress, string work, string? snapshotName,
        ulong? consistentPoint, CancellationToken cancellationToken, SlotInfo? slotWas = null)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var reader = await OutboxTableReader.OpenAsync(options.Postgres.ConnectionString, outboxes, snapshotName, cancellationToken);
        var snapshotXmin = await reader.SnapshotXminAsync(cancellationToken);
        var commitLsnBound = consistentPoint ?? await reader.WalInsertLsnAsync(cancellationToken);
        var filter = new RowFilter { MinInsertingXid = progress.Horizon?.Xid };
        var count = await reader.CountAsync(filter, cancellationToken);

        if (work == ProgressRecord.Recovery && slotWas is not null)
            logger.LogError("Replication slot {Slot} was {What}; the last proven delivery horizon is {Horizon}. Created it again at LSN {Lsn} and publishing again " +
                            "the {Rows} rows of {Table} not proven delivered (duplicates for consumers to drop by id), then streaming",
                options.Slot, slotWas.IsLost ? "invalidated (wal_status lost)" : "missing", progress.Horizon?.ToString() ?? "none (every row)",
                new NpgsqlLogSequenceNumber(commitLsnBound), count, outboxes);
        else if (snapshotName is not null)
            logger.LogInformation("First start: created replication slot {Slot} at LSN {Lsn} with an exported snapshot; publishing the {Rows} rows of {Table} visible in it, in {Order}, then streaming",
                options.Slot, new NpgsqlLogSequenceNumber(commitLsnBound), count, outboxes, reader.OrderDescription);
        else
            logger.LogInformation("Publishing again {Rows} rows of {Table} not proven delivered ({Progress}), in {Order}", count, outboxes, progress, reader.OrderDescription);
        if (work == ProgressRecord.Recovery)
            await ReportUnprovenDeletionsAsync(connection, progress.Horizon, cancellationToken);

        var published = await PublishRowsAsync(reader, filter, commitLsnBound, count, work,
            work == ProgressRecord.Recovery ? metrics.EventsRepublished : metrics.EventsBackfilled, cancellationToken);

        var horizon = new DeliveryHorizon(snapshotXmin, commitLsnBound);
        await ProgressStore.CompleteAsync(connection, options.Slot, horizon, cancellationToken);
        await RecordCoveredAsync(connection, cancellationToken);
        logger.LogInformation("The {Work} of slot {Slot} is complete: {Published} events acknowledged by Kafka in {Elapsed:F1} s; delivery horizon now {Horizon}",
            work, options.Slot, published, stopwatch.Elapsed.TotalSeconds, horizon);
    }
}

using System.Diagnostics;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Postgres;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Retention;

/// <summary>
/// Deletes outbox rows whose events are delivered, once older than <c>Cdc:Retention:Age</c>, in small batches.
/// </summary>
/// <remarks>
/// <para>
/// A row has no LSN, and <c>created_at</c> is its transaction's <em>start</em>: a long transaction may commit (and
/// be relayed) much later, so no wall-clock test says a row was delivered. What is sound is this:
/// </para>
/// <list type="number">
/// <item>Each run first reads X = <c>pg_snapshot_xmin(pg_current_snapshot())</c>: every transaction with an id
/// below X has ended (committed or aborted) at that moment.</item>
/// <item>Then, in a later statement, W = <c>pg_current_wal_insert_lsn()</c>. PostgreSQL inserts a commit record
/// into WAL before it takes the transaction out of the running set, so every transaction below X that
/// committed has its commit record before W (the insert position, not the write position: with
/// synchronous_commit off the record may not be written yet).</item>
/// <item>The relay confirms an LSN only when Kafka has acknowledged every transaction whose commit ends at or
/// before it (AcknowledgementTracker). So once the slot's <c>confirmed_flush_lsn</c> reaches W, every row
/// inserted by a transaction below X has been delivered (or dead-lettered).</item>
/// <item>A row's <c>xmin</c> is the (sub)transaction that inserted it; a subtransaction's id is above its top
/// transaction's, which is at least X if it was still running. So <c>xmin</c> below X means the inserting
/// transaction had ended by then, and a row we can see is a committed one.</item>
/// </list>
/// <para>
/// Each run therefore records (X, W), and deletes with the newest recorded X whose W the slot has confirmed. The
/// pairs are kept and proven by <see cref="DeliveryProgress"/>, which also writes the proven horizon to
/// atlas_cdc_progress; retention deletes only below the horizon written there, so a slot recovery never needs a row
/// that retention deleted. Ids are 32-bit and wrap: <c>age(a) &gt; age(b)</c> compares them correctly within 2^31 transactions of now,
/// which holds for X (recent). A row inserted more than 2^31 transactions ago may compare either way: it is then
/// either deleted (delivered long ago) or kept, never deleted early. The <c>xmin</c> column needs SELECT on
/// the whole table, so it is read through the view of sql/004_outbox_retention.sql (no payloads).
/// </para>
/// <para>
/// Locks: each batch is one DELETE of at most <c>Cdc:Retention:BatchSize</c> rows in its own short transaction.
/// DELETE takes ROW EXCLUSIVE on the table, which does not conflict with the ROW EXCLUSIVE of INSERT, and row
/// locks only on rows no one else writes; <c>lock_timeout</c> keeps it from queueing behind DDL. Only the relay
/// holding the slot (streaming) deletes, so standbys do not compete. The publication publishes inserts only,
/// so these deletes are never relayed.
/// </para>
/// </remarks>
internal sealed class OutboxRetention(
    IOptions<CdcOptions> optionsAccessor,
    OutboxCatalog outboxes,
    StreamStatus status,
    RelayMetrics metrics,
    DeliveryProgress progress,
    ILogger<OutboxRetention> logger) : BackgroundService
{
    private static readonly TimeSpan s_errorLogInterval = TimeSpan.FromMinutes(10);

    private readonly CdcOptions _options = optionsAccessor.Value;
    private long _lastErrorLogged = long.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retention = _options.Retention;
        if (!retention.Enabled)
        {
            logger.LogInformation("Outbox retention is disabled (Cdc:Retention:Enabled); the outbox table is never cleaned by the relay");
            return;
        }
        var tables = outboxes.All.Where(o => o.RetentionEnabled).Select(o => new RetentionSql(o)).ToList();
        if (tables.Count == 0)
        {
            logger.LogInformation("Outbox retention is off for every outbox (Cdc:Outboxes:<name>:Retention); no outbox table is cleaned by the relay");
            return;
        }
        foreach (var sql in tables)
            logger.LogInformation("Outbox retention: deleting delivered rows of {Table} older than {Age}, {BatchSize} per batch, every {Interval} (view {View})",
                sql.Outbox, Durations.Format(retention.Age), retention.BatchSize, Durations.Format(retention.Interval), sql.View);

        using var timer = new PeriodicTimer(retention.Interval);
        while (await timer.TickAsync(stoppingToken) && !stoppingToken.IsCancellationRequested)
        {
            if (!status.IsStreaming)
                continue;
            foreach (var sql in tables)
            {
                try
                {
                    await RunOnceAsync(sql, stoppingToken);
                }
                catch (Exception) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    metrics.RetentionErrors.Add(sql.Outbox.Index, 1);
                    LogFailure(sql, e);
                }
            }
        }
    }

    private async Task RunOnceAsync(RetentionSql sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionStrings.ForQueries(_options.Postgres.ConnectionString));
        await connection.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("SET lock_timeout = '2s'; SET statement_timeout = '30s'", cancellationToken);

        if (await progress.ProveAsync(connection, cancellationToken) is not { } horizon)
            return;

        var stopwatch = Stopwatch.StartNew();
        long total = 0;
        var batches = 0;
        while (!cancellationToken.IsCancellationRequested && status.IsStreaming)
        {
            await using var delete = new NpgsqlCommand(sql.DeleteBatch, connection);
            delete.Parameters.Add(new NpgsqlParameter { Value = _options.Retention.Age, NpgsqlDbType = NpgsqlDbType.Interval });
            delete.Parameters.Add(new NpgsqlParameter { Value = horizon.Xid32, NpgsqlDbType = NpgsqlDbType.Xid });
            delete.Parameters.Add(new NpgsqlParameter { Value = _options.Retention.BatchSize });
            var deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            batches++;
            metrics.RowsDeleted.Add(sql.Outbox.Index, deleted);
            if (deleted < _options.Retention.BatchSize)
                break;
        }
        if (total > 0)
            logger.LogDebug("Outbox retention deleted {Rows} rows in {Batches} batches ({Elapsed}); horizon {Horizon}",
                total, batches, Durations.Format(stopwatch.Elapsed), horizon);
    }

    private void LogFailure(RetentionSql sql, Exception exception)
    {
        var now = Stopwatch.GetTimestamp();
        if (_lastErrorLogged != long.MinValue && Stopwatch.GetElapsedTime(_lastErrorLogged, now) < s_errorLogInterval)
            return;
        _lastErrorLogged = now;
        if (exception is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InsufficientPrivilege })
            logger.LogError("Outbox retention cannot run: {Reason}. It needs the view {View} (sql/004_outbox_retention.sql) with SELECT on it, " +
                            "and DELETE plus SELECT (id) on {Table} for the relay's role (sql/003_roles.sql). Events are still relayed; " +
                            "set Cdc:Retention:Enabled=false to silence this", PostgresFailures.Describe(exception), sql.View, sql.Table);
        else
            logger.LogWarning("Outbox retention run failed, retrying in {Interval}: {Reason}", Durations.Format(_options.Retention.Interval), PostgresFailures.Describe(exception));
    }
}

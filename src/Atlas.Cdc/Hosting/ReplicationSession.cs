using System.Diagnostics;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Postgres;
using Atlas.Cdc.Publishing;
using Atlas.Cdc.Reading;
using Atlas.Cdc.Reading.PgOutput;
using Atlas.Cdc.Recovery;
using Npgsql;
using Npgsql.Replication;
using NpgsqlTypes;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// One replication connection's life, composed of the data path's steps: <see cref="DatabaseChecks"/>, the slot
/// claim and <see cref="SlotPreparation"/> (backfill, recovery), the <see cref="ChangeStreamReader"/> feeding a
/// <see cref="PublishQueue"/>, and the <see cref="SlotConfirmer"/> confirming what <see cref="ConfirmationPolicy"/>
/// allows. It ends on shutdown (after draining) or on the first failure and returns a <see cref="SessionOutcome"/>;
/// the <see cref="RelayWorker"/> decides whether to start another. The phases are in <see cref="SessionLifecycle"/>.
/// </summary>
internal sealed class ReplicationSession(
    CdcOptions options,
    OutboxCatalog outboxes,
    KafkaPublisher publisher,
    ISessionReporter reporter,
    RelayMetrics metrics,
    ILogger logger)
{
    private static readonly TimeSpan s_shutdownProbeAfter = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_shutdownProbeInterval = TimeSpan.FromSeconds(1);

    private readonly SessionLifecycle _lifecycle = new();
    private long _lastShutdownProbe;
    private SlotPreparation? _preparation;
    private AcknowledgementTracker? _tracker;
    private ConfirmationPolicy? _confirmation;
    private SlotConfirmer? _confirmer;
    private SlotClaim? _claim;

    /// <summary>Runs the session to its end; never throws (the outcome carries the failure).</summary>
    public async Task<SessionOutcome> RunAsync(ulong resumeLsn, CancellationToken stoppingToken)
    {
        Exception? failure = null;
        try
        {
            await StreamAsync(resumeLsn, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _lifecycle.MoveTo(SessionPhase.Stopped); // SIGTERM cancelled the work in progress
        }
        catch (Exception e)
        {
            _lifecycle.MoveTo(SessionPhase.Failed);
            failure = e;
        }
        return new SessionOutcome(failure, _lifecycle.Streamed, _tracker ?? _preparation?.Tracker, _confirmation);
    }

    private async Task StreamAsync(ulong resumeLsn, CancellationToken stoppingToken)
    {
        await new DatabaseChecks(options, outboxes).RunAsync(stoppingToken);

        // Held from looking at the slot until streaming from it (see SlotClaim); let go in ConfirmLoopAsync.
        _claim = await SlotClaim.TryTakeAsync(PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString), options.Slot, stoppingToken)
                 ?? throw new SlotInUseException(options.Slot, null);
        await using var claim = _claim;

        await using var connection = new LogicalReplicationConnection(PostgresConnectionStrings.ForReplication(options.Postgres.ConnectionString));
        await connection.Open(stoppingToken);

        _preparation = new SlotPreparation(options, outboxes, publisher, tracker =>
        {
            reporter.Backfilling();
            reporter.Tracking(tracker);
        }, metrics, logger);
        var (slot, created) = await _preparation.PrepareAsync(connection, stoppingToken);
        if (created)
            resumeLsn = 0; // positions acknowledged on a slot that is gone mean nothing for the new one

        // Never report a position below the slot's own: PostgreSQL 15 would move confirmed_flush back.
        var startLsn = Math.Max(slot.ConfirmedFlushLsn, resumeLsn);
        var tracker = new AcknowledgementTracker(options.MaxInFlightEvents, options.MaxInFlightBytes, startLsn);
        _tracker = tracker;
        _confirmation = new ConfirmationPolicy(tracker, () => (ulong)connection.LastReceivedLsn, slot.ConfirmedFlushLsn);
        var confirmer = _confirmer = new SlotConfirmer(connection, _confirmation, options.Slot,
            PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString), reporter.Confirmed, logger);
        connection.SetReplicationStatus(new NpgsqlLogSequenceNumber(slot.ConfirmedFlushLsn));
        reporter.Tracking(tracker);

        using var readerCancellation = new CancellationTokenSource();
        var stream = PgOutputStream.Start(connection, options.Slot, options.Publication,
            resumeLsn > slot.ConfirmedFlushLsn ? resumeLsn : null, readerCancellation.Token);
        _lifecycle.MoveTo(SessionPhase.Starting);

        await using var queue = new PublishQueue(publisher, tracker);
        // Decoding and publishing run on separate threads: the reader here, the queue's publishing loop there.
        var changes = new ChangeStreamReader(outboxes, options.Publication, tracker, _lifecycle, metrics, logger);
        var reader = Task.Run(() => changes.ReadAsync(stream, queue.EnqueueAsync, () => publisher.Failure, readerCancellation.Token),
            CancellationToken.None);
        using var confirmerCancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var confirming = ConfirmLoopAsync(connection, confirmer, tracker, reader, confirmerCancellation.Token);

        await Task.WhenAny(reader, confirming);
        if (stoppingToken.IsCancellationRequested && !reader.IsCompleted && !confirming.IsFaulted)
        {
            await Quietly(confirming);
            try
            {
                await DrainAsync(confirmer, tracker); // throws a fatal publisher failure (Halt)
            }
            finally
            {
                await readerCancellation.CancelAsync();
                await Quietly(reader);
            }
            _lifecycle.MoveTo(SessionPhase.Stopped);
            return;
        }

        // A failure: stop the other half, confirm what is safe if the connection still allows it, report.
        await confirmerCancellation.CancelAsync();
        await readerCancellation.CancelAsync();
        await Quietly(confirming);
        await Quietly(reader);
        await confirmer.TryConfirmAsync();
        var failure = publisher.Failure
                      ?? reader.Exception?.InnerException
                      ?? confirming.Exception?.InnerException
                      ?? new InvalidOperationException("The replication stream ended unexpectedly.");
        throw PostgresFailures.IsSlotInUse(failure) ? new SlotInUseException(options.Slot, failure) : failure;
    }

    /// <summary>Confirms on an interval; also notices when the slot is ours (streaming) and when the publisher failed.</summary>
    private async Task ConfirmLoopAsync(LogicalReplicationConnection connection, SlotConfirmer confirmer, AcknowledgementTracker tracker,
        Task reader, CancellationToken cancellationToken)
    {
        var backendPid = connection.ProcessID;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.TickAsync(cancellationToken)
               && !cancellationToken.IsCancellationRequested)
        {
            if (reader.IsCompleted)
                return;
            if (publisher.Failure is { } failure)
                throw failure;
            if (_lifecycle.Phase == SessionPhase.Starting)
            {
                if (!await SlotHeldByAsync(backendPid, cancellationToken))
                    continue;
                _lifecycle.MoveTo(SessionPhase.Streaming);
                reporter.Streaming();
                if (_claim is { } claim)
                    await claim.DisposeAsync(); // the slot itself keeps other relays out from now on
                logger.LogInformation("Streaming from slot {Slot}, publication {Publication}, confirmed LSN {Lsn}",
                    options.Slot, options.Publication, new NpgsqlLogSequenceNumber(Confirmed));
                timer.Period = options.ConfirmInterval;
            }
            await confirmer.ConfirmAsync(cancellationToken);
            await ReleaseIfServerShuttingDownAsync(tracker, cancellationToken);
        }
    }

    /// <summary>
    /// At shutdown PostgreSQL's walsender waits, without limit, until the client confirms everything it sent. A
    /// relay that cannot confirm (Kafka down or slow) would block pg_ctl stop forever, so while events wait for
    /// Kafka the server is probed with an ordinary connection: 57P03 while this replication connection lives
    /// means it is shutting down, and the session ends (nothing unacknowledged is confirmed) to let it stop.
    /// </summary>
    private async Task ReleaseIfServerShuttingDownAsync(AcknowledgementTracker tracker, CancellationToken cancellationToken)
    {
        if (tracker.StalledFor < s_shutdownProbeAfter ||
            Stopwatch.GetElapsedTime(_lastShutdownProbe) < s_shutdownProbeInterval)
            return;
        _lastShutdownProbe = Stopwatch.GetTimestamp();
        try
        {
            await using var probe = new NpgsqlConnection(PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString));
            await probe.OpenAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CannotConnectNow)
        {
            logger.LogWarning("PostgreSQL is shutting down while {InFlight} events wait for Kafka: releasing the replication connection " +
                              "so it can stop; confirmed LSN stays {Lsn}", tracker.InFlightEvents, new NpgsqlLogSequenceNumber(Confirmed));
            throw;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // Anything else (too many connections, a network hiccup) says nothing about a shutdown.
        }
    }

    private ulong Confirmed => _confirmer?.Confirmed ?? 0;

    /// <summary>
    /// SIGTERM: finish reading the transaction in progress and stop before the next one, wait for acknowledgements,
    /// confirm, then end the stream; all within Cdc:ShutdownTimeout. Stopping inside a transaction would leave its
    /// already published events unconfirmable (no COMMIT read), and the next relay would send them again.
    /// A publisher failure ends the waiting at once: a Halt throws (exit 3); nothing more will be acknowledged.
    /// </summary>
    private async Task DrainAsync(SlotConfirmer confirmer, AcknowledgementTracker tracker)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(options.ShutdownTimeout.TotalSeconds * Stopwatch.Frequency);
        _lifecycle.MoveTo(SessionPhase.Draining);
        while (_lifecycle.InTransaction && publisher.Failure is null && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(10, CancellationToken.None);
        _lifecycle.MoveTo(SessionPhase.Flushing); // past the deadline inside a huge transaction: stop where it is
        var remaining = TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
        var drained = await tracker.WaitForDrainAsync(remaining, CancellationToken.None, giveUp: () => publisher.Failure is not null);
        await confirmer.TryConfirmAsync();
        await confirmer.WaitForServerToConfirmAsync();
        if (publisher.Failure is { IsFatal: true } fatal)
            throw fatal;
        if (publisher.Failure is { } failure)
            logger.LogWarning("Publisher failed while draining ({Reason}); confirmed LSN {Lsn}, the rest is sent again on restart",
                failure.Message, new NpgsqlLogSequenceNumber(Confirmed));
        else if (drained)
            logger.LogInformation("Drained: every event read was acknowledged; confirmed LSN {Lsn}", new NpgsqlLogSequenceNumber(Confirmed));
        else
            logger.LogWarning("Shutdown timeout {Timeout} passed with {InFlight} events unacknowledged; confirmed LSN {Lsn}, the rest is sent again on restart",
                Durations.Format(options.ShutdownTimeout), tracker.InFlightEvents, new NpgsqlLogSequenceNumber(Confirmed));
    }

    private async Task<bool> SlotHeldByAsync(int backendPid, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString));
        await connection.OpenAsync(cancellationToken);
        return (await SlotCatalog.ReadAsync(connection, options.Slot, cancellationToken)).ActivePid == backendPid;
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch
        {
            // Already reported by whoever looks at the task's own exception.
        }
    }
}

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
/// One replication connection's life: check the database, take the slot, walk the pgoutput stream, publish each
/// outbox insert, and confirm to PostgreSQL what Kafka has acknowledged. It ends on shutdown (after draining) or
/// on the first failure and returns a <see cref="SessionOutcome"/>; the <see cref="Hosting.RelayWorker"/> decides
/// whether to start another. The phases and the moves between them are in <see cref="SessionLifecycle"/>; what
/// may be confirmed is decided by <see cref="ConfirmationPolicy"/>.
/// </summary>
internal sealed class ReplicationSession(
    CdcOptions options,
    OutboxTableName table,
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
        await new DatabaseChecks(options, table).RunAsync(stoppingToken);

        // Held from looking at the slot until streaming from it (see SlotClaim); let go in ConfirmLoopAsync.
        _claim = await SlotClaim.TryTakeAsync(PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString), options.Slot, stoppingToken)
                 ?? throw new SlotInUseException(options.Slot, null);
        await using var claim = _claim;

        await using var connection = new LogicalReplicationConnection(PostgresConnectionStrings.ForReplication(options.Postgres.ConnectionString));
        await connection.Open(stoppingToken);

        _preparation = new SlotPreparation(options, table, publisher, tracker =>
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
        connection.SetReplicationStatus(new NpgsqlLogSequenceNumber(slot.ConfirmedFlushLsn));
        reporter.Tracking(tracker);

        using var readerCancellation = new CancellationTokenSource();
        var stream = PgOutputStream.Start(connection, options.Slot, options.Publication,
            resumeLsn > slot.ConfirmedFlushLsn ? resumeLsn : null, readerCancellation.Token);
        _lifecycle.MoveTo(SessionPhase.Starting);

        await using var queue = new PublishQueue(publisher, tracker);
        var reader = Task.Run(() => ReadAsync(stream, tracker, queue, readerCancellation.Token), CancellationToken.None);
        using var confirmerCancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var confirmer = ConfirmLoopAsync(connection, tracker, reader, confirmerCancellation.Token);

        await Task.WhenAny(reader, confirmer);
        if (stoppingToken.IsCancellationRequested && !reader.IsCompleted && !confirmer.IsFaulted)
        {
            await Quietly(confirmer);
            try
            {
                await DrainAsync(connection, tracker); // throws a fatal publisher failure (Halt)
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
        await Quietly(confirmer);
        await Quietly(reader);
        await TryConfirmAsync(connection);
        var failure = publisher.Failure
                      ?? reader.Exception?.InnerException
                      ?? confirmer.Exception?.InnerException
                      ?? new InvalidOperationException("The replication stream ended unexpectedly.");
        throw PostgresFailures.IsSlotInUse(failure) ? new SlotInUseException(options.Slot, failure) : failure;
    }

    /// <summary>
    /// Walks the stream on its own thread and decodes; a <see cref="PublishQueue"/> hands the events to Kafka on
    /// another. Every event is counted in the tracker when queued, before the next message is read, which is what
    /// makes the idle confirmation of <see cref="ConfirmationPolicy"/> safe.
    /// </summary>
    private async Task ReadAsync(IAsyncEnumerable<XLogDataMessage> stream, AcknowledgementTracker tracker,
        PublishQueue queue, CancellationToken cancellationToken)
    {
        var relations = new OutboxRelations(table, options.Publication, logger);
        var messages = new PgOutputStream();
        TrackedTransaction? transaction = null;

        await foreach (var data in stream.ConfigureAwait(false))
        {
            if (!_lifecycle.MayRead)
            {
                // Flushing: leave this message unprocessed (it is not confirmed) and wait to be cancelled.
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            if (publisher.Failure is { } failure)
                throw failure;

            await messages.ReadAsync(data).ConfigureAwait(false);
            var message = messages.Current;
            var walStart = (ulong)data.WalStart;
            switch (message.Span.IsEmpty ? (byte)0 : message.Span[0])
            {
                case PgOutputMessages.Begin:
                    if (!_lifecycle.TryBeginTransaction())
                    {
                        // Draining: this transaction is left for the next relay, whole.
                        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                    }
                    var (finalLsn, commitTime) = PgOutputMessages.ReadBegin(message.Span, walStart);
                    transaction = tracker.Begin(finalLsn, commitTime);
                    break;

                case PgOutputMessages.Relation:
                    relations.Describe(message.Span, walStart);
                    break;

                case PgOutputMessages.Insert:
                    if (transaction is null)
                        throw new InvalidOperationException($"Insert outside a transaction at LSN {data.WalStart}.");
                    if (relations.Decode(message.Span, walStart) is not { } outboxEvent)
                        break;
                    await queue.EnqueueAsync(outboxEvent, transaction, cancellationToken).ConfigureAwait(false);
                    await tracker.WaitForCapacityAsync(cancellationToken).ConfigureAwait(false);
                    break;

                case PgOutputMessages.Commit:
                    if (transaction is null)
                        throw new InvalidOperationException($"Commit outside a transaction at LSN {data.WalStart}.");
                    AcknowledgementTracker.Commit(transaction, PgOutputMessages.ReadCommit(message.Span, walStart).EndLsn);
                    metrics.Transactions.Add(1);
                    transaction = null;
                    _lifecycle.EndTransaction();
                    break;

                case var type when PgOutputMessages.IsIgnored(type):
                    break;

                case var type:
                    throw new InvalidOperationException(
                        $"Unexpected pgoutput message type '{(char)type}' at LSN {data.WalStart}: the relay asks for protocol version 1 without streaming.");
            }
        }
        throw new InvalidOperationException("PostgreSQL ended the replication stream.");
    }

    /// <summary>Confirms on an interval; also notices when the slot is ours (streaming) and when the publisher failed.</summary>
    private async Task ConfirmLoopAsync(LogicalReplicationConnection connection, AcknowledgementTracker tracker, Task reader,
        CancellationToken cancellationToken)
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
            await ConfirmAsync(connection, cancellationToken);
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

    /// <summary>Sends the position <see cref="ConfirmationPolicy"/> allows, if it moved.</summary>
    private async Task ConfirmAsync(LogicalReplicationConnection connection, CancellationToken cancellationToken)
    {
        if (_confirmation?.Next() is not { } lsn)
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
        _confirmation.MarkConfirmed(lsn);
        reporter.Confirmed(lsn);
    }

    private ulong Confirmed => _confirmation?.Confirmed ?? 0;

    private async Task TryConfirmAsync(LogicalReplicationConnection connection)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await ConfirmAsync(connection, timeout.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogDebug("Final confirmation skipped: {Reason}", e.Message);
        }
    }

    /// <summary>
    /// SIGTERM: finish reading the transaction in progress and stop before the next one, wait for acknowledgements,
    /// confirm, then end the stream; all within Cdc:ShutdownTimeout. Stopping inside a transaction would leave its
    /// already published events unconfirmable (no COMMIT read), and the next relay would send them again.
    /// A publisher failure ends the waiting at once: a Halt throws (exit 3); nothing more will be acknowledged.
    /// </summary>
    private async Task DrainAsync(LogicalReplicationConnection connection, AcknowledgementTracker tracker)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(options.ShutdownTimeout.TotalSeconds * Stopwatch.Frequency);
        _lifecycle.MoveTo(SessionPhase.Draining);
        while (_lifecycle.InTransaction && publisher.Failure is null && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(10, CancellationToken.None);
        _lifecycle.MoveTo(SessionPhase.Flushing); // past the deadline inside a huge transaction: stop where it is
        var remaining = TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
        var drained = await tracker.WaitForDrainAsync(remaining, CancellationToken.None, giveUp: () => publisher.Failure is not null);
        await TryConfirmAsync(connection);
        await WaitForServerToConfirmAsync(connection);
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

    /// <summary>
    /// SendStatusUpdate only puts the position on the socket. Ending the stream cancels it (Npgsql sends a cancel
    /// request), and the walsender can then release the slot before it has read that last status: the slot keeps
    /// the previous confirmation and the next relay (a standby taking over at once) resends up to a confirm
    /// interval of events. So the stream is ended only once pg_replication_slots shows the final position.
    /// </summary>
    private async Task WaitForServerToConfirmAsync(LogicalReplicationConnection connection)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        ulong serverConfirmed = 0;
        try
        {
            await using var query = new NpgsqlConnection(PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString));
            await query.OpenAsync(timeout.Token);
            while (true)
            {
                serverConfirmed = await SlotCatalog.ConfirmedFlushLsnAsync(query, options.Slot, timeout.Token);
                if (serverConfirmed >= Confirmed)
                    return;
                await connection.SendStatusUpdate(timeout.Token);
                await Task.Delay(20, timeout.Token);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("PostgreSQL shows slot {Slot} confirmed to {ServerLsn}, not the final {Lsn} ({Reason}): the next start may send the events in between again",
                options.Slot, new NpgsqlLogSequenceNumber(serverConfirmed), new NpgsqlLogSequenceNumber(Confirmed), e.Message);
        }
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

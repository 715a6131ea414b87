using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Reading.PgOutput;
using Npgsql.Replication;

namespace Atlas.Cdc.Reading;

/// <summary>
/// Walks the pgoutput stream of a slot and decodes the outbox's inserts into events, in commit order. Each event is
/// counted in the tracker and handed on before the next message is read: that is what makes the idle confirmation
/// of <see cref="ConfirmationPolicy"/> safe.
/// </summary>
internal sealed class ChangeStreamReader(
    OutboxCatalog outboxes,
    string publication,
    AcknowledgementTracker tracker,
    IReadGate gate,
    RelayMetrics metrics,
    ILogger logger)
{
    /// <summary>
    /// Reads until cancelled or failed; never returns normally. <paramref name="publish"/> takes each event in
    /// order (it may wait, which pauses reading); <paramref name="stopReason"/> ends reading with the exception it
    /// returns (a failed publisher).
    /// </summary>
    public async Task ReadAsync(IAsyncEnumerable<XLogDataMessage> stream,
        Func<OutboxEvent, TrackedTransaction, CancellationToken, ValueTask> publish, Func<Exception?> stopReason,
        CancellationToken cancellationToken)
    {
        var relations = new OutboxRelations(outboxes, publication, logger);
        var messages = new PgOutputStream();
        TrackedTransaction? transaction = null;

        await foreach (var data in stream.ConfigureAwait(false))
        {
            if (!gate.MayRead)
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            if (stopReason() is { } failure)
                throw failure;

            await messages.ReadAsync(data).ConfigureAwait(false);
            var message = messages.Current;
            var walStart = (ulong)data.WalStart;
            switch (message.Span.IsEmpty ? (byte)0 : message.Span[0])
            {
                case PgOutputMessages.Begin:
                    if (!gate.TryBeginTransaction())
                        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
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
                    await publish(outboxEvent, transaction, cancellationToken).ConfigureAwait(false);
                    await tracker.WaitForCapacityAsync(cancellationToken).ConfigureAwait(false);
                    break;

                case PgOutputMessages.Commit:
                    if (transaction is null)
                        throw new InvalidOperationException($"Commit outside a transaction at LSN {data.WalStart}.");
                    AcknowledgementTracker.Commit(transaction, PgOutputMessages.ReadCommit(message.Span, walStart).EndLsn);
                    metrics.Transactions.Add(1);
                    transaction = null;
                    gate.EndTransaction();
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
}

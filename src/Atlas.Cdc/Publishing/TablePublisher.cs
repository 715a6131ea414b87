using System.Diagnostics;
using Atlas.Cdc.Events;
using Atlas.Cdc.Offsets;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// Publishes rows read from the outbox table (backfill, recovery, replay) through the same queue, producer and
/// backpressure as streaming: reading pauses while <c>Cdc:MaxInFlightEvents</c> events or
/// <c>Cdc:MaxInFlightBytes</c> bytes wait for Kafka, so memory stays bounded for any table size. It returns only
/// once Kafka has acknowledged every row (or dead-lettered it), which is what lets the caller record the rows as
/// delivered.
/// </summary>
internal sealed class TablePublisher(KafkaPublisher publisher, AcknowledgementTracker tracker)
{
    private static readonly TimeSpan s_progressInterval = TimeSpan.FromSeconds(5);

    private readonly Dictionary<int, long> _sentByOutbox = [];

    /// <summary>Events handed to Kafka so far.</summary>
    public long Sent { get; private set; }

    /// <summary>Events handed to Kafka so far, by outbox position (<see cref="OutboxDefinition.Index"/>).</summary>
    public IReadOnlyDictionary<int, long> SentByOutbox => _sentByOutbox;

    /// <summary>
    /// Publishes every row, in order; each event carries <paramref name="commitLsnBound"/> as its commit LSN (an
    /// upper bound: the row's transaction committed before it). <paramref name="maxRate"/> limits events per
    /// second (0: no limit). <paramref name="progress"/> is called about every 5 s with the count sent.
    /// </summary>
    public async Task<long> PublishAsync(IAsyncEnumerable<TableRow> rows, ulong commitLsnBound, int maxRate,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        var pace = Stopwatch.StartNew();
        var lastProgress = Stopwatch.GetTimestamp();
        await using (var queue = new PublishQueue(publisher, tracker))
        {
            await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (publisher.Failure is { } failure)
                    throw failure;
                var transaction = tracker.Begin(commitLsnBound, row.CommitTime);
                await queue.EnqueueAsync(row.Event, transaction, cancellationToken).ConfigureAwait(false);
                AcknowledgementTracker.Commit(transaction, commitLsnBound);
                var outbox = row.Event.OutboxIndex;
                _sentByOutbox[outbox] = _sentByOutbox.GetValueOrDefault(outbox) + 1;
                Sent++; // each Begin drops the acknowledged rows at the head of the tracker's queue
                await tracker.WaitForCapacityAsync(cancellationToken).ConfigureAwait(false);
                if (maxRate > 0 && TimeSpan.FromSeconds((double)Sent / maxRate) - pace.Elapsed is { } ahead && ahead > TimeSpan.FromMilliseconds(1))
                    await Task.Delay(ahead, cancellationToken).ConfigureAwait(false);
                if (progress is not null && Stopwatch.GetElapsedTime(lastProgress) >= s_progressInterval)
                {
                    lastProgress = Stopwatch.GetTimestamp();
                    progress(Sent);
                }
            }
        }
        await WaitForAcknowledgementsAsync(cancellationToken).ConfigureAwait(false);
        return Sent;
    }

    /// <summary>Waits until Kafka acknowledged everything sent; a failed producer ends the wait with its failure.</summary>
    public async Task WaitForAcknowledgementsAsync(CancellationToken cancellationToken)
    {
        while (!await tracker.WaitForDrainAsync(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false))
        {
            if (publisher.Failure is { } failure)
                throw failure;
            cancellationToken.ThrowIfCancellationRequested();
        }
        if (publisher.Failure is { } late)
            throw late;
        tracker.AdvanceConfirmable();
    }
}

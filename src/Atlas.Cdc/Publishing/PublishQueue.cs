using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Atlas.Cdc.Events;
using Atlas.Cdc.Offsets;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// Decode and publish on separate threads: the replication reader counts each event in the tracker and queues it;
/// one publishing loop hands the events to Kafka in the same order. Single writer, single reader, FIFO: the order
/// per key is the order the reader decoded. Events are counted as in flight when queued, so the tracker's limits
/// bound the queue too, and nothing queued can be confirmed before Kafka acknowledges it.
/// </summary>
internal sealed class PublishQueue : IAsyncDisposable
{
    private const int Capacity = 8192;

    private readonly KafkaPublisher _publisher;
    private readonly AcknowledgementTracker _tracker;
    private readonly Channel<KafkaPublisher.Delivery> _channel =
        Channel.CreateBounded<KafkaPublisher.Delivery>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    private readonly Task _loop;
    private readonly CancellationTokenSource _abandon = new(); // ends a wait for the schema registry at disposal

    public PublishQueue(KafkaPublisher publisher, AcknowledgementTracker tracker)
    {
        _publisher = publisher;
        _tracker = tracker;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Counts the event as sent, then queues it. Called on the reader thread only.</summary>
    public ValueTask EnqueueAsync(OutboxEvent outboxEvent, TrackedTransaction transaction, CancellationToken cancellationToken)
    {
        var delivery = new KafkaPublisher.Delivery(_publisher, outboxEvent, transaction, _tracker);
        _tracker.Sent(transaction, delivery.Size);
        return _channel.Writer.TryWrite(delivery) ? ValueTask.CompletedTask : WriteSlowAsync(delivery, cancellationToken);
    }

    private async ValueTask WriteSlowAsync(KafkaPublisher.Delivery delivery, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(delivery, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException closed) when (closed.InnerException is { } failure)
        {
            // The publishing loop failed: end the session with its exception, not the channel's.
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    private async Task LoopAsync()
    {
        var reader = _channel.Reader;
        try
        {
            await _publisher.WaitForReportsAsync(_abandon.Token).ConfigureAwait(false);
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var delivery))
                    await _publisher.SendAsync(delivery, _abandon.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // The reader's next enqueue throws this (ChannelClosedException), which ends the session; nothing
            // left in the queue was acknowledged, so nothing past it is confirmed.
            _channel.Writer.TryComplete(e);
        }
    }

    /// <summary>Stops taking events and waits until every queued one has been handed to Kafka.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _abandon.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _abandon.Dispose();
    }
}

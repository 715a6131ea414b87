using System.Threading.Channels;
using Atlas.Cdc.Publishing.Native;
using Confluent.Kafka;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// librdkafka 2.0 learns the partitions of a topic first named by a produce call only on its one-second topic scan,
/// so the first events of every new topic waited up to a second (seen in the catch-up benchmark: first
/// acknowledgement 0.8 s after the first produce). Asking for the topic's metadata when it is first seen lets them
/// leave at once. The request runs on a background task, one at a time: the publishing loop only queues the topic
/// name and produces at once (librdkafka holds the message until it knows the partitions), so a metadata request
/// that waits (brokers down, slow cluster) never holds back the events behind it.
/// </summary>
internal sealed class TopicMetadataWarmer : IDisposable
{
    private const int MaxTopicsTracked = 10_000;
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(1);

    private readonly LibrdkafkaProducer _producer;
    private readonly ILogger _logger;
    private readonly HashSet<string> _topicsSeen = new(StringComparer.Ordinal);
    private readonly Channel<string> _pending = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Task _worker;

    public TopicMetadataWarmer(LibrdkafkaProducer producer, ILogger logger)
    {
        _producer = producer;
        _logger = logger;
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Queues a metadata request for a topic not seen before. Called on the publishing loop's thread only; never blocks.</summary>
    public void Seen(string topic)
    {
        if (_topicsSeen.Count < MaxTopicsTracked && _topicsSeen.Add(topic))
            _pending.Writer.TryWrite(topic);
    }

    private async Task RunAsync()
    {
        await foreach (var topic in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var result = _producer.RequestMetadata(topic, s_requestTimeout);
            // The produce call works anyway: librdkafka's own topic scan finds the topic later.
            if (result != ErrorCode.NoError)
                _logger.LogDebug("Metadata of topic {Topic} not available yet: {Reason}", topic, result);
        }
    }

    /// <summary>Stops taking topics and waits for the request under way (at most its one-second timeout), so the producer can be disposed after.</summary>
    public void Dispose()
    {
        _pending.Writer.TryComplete();
        while (_pending.Reader.TryRead(out _))
        {
            // Not requested any more: the producer is going away.
        }
        _worker.Wait(s_requestTimeout + TimeSpan.FromSeconds(1));
    }
}

using System.Collections.Concurrent;
using Confluent.Kafka;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// Asks for a topic's metadata when the relay first names it, so the first events of a new topic do not wait for
/// librdkafka's periodic topic scan to learn its partitions. The requests are blocking calls of Confluent's admin
/// client (sharing the producer's connections); they run on a dedicated thread, one at a time, so a request that
/// waits (brokers down, slow cluster) never holds back the publishing loop, which only queues the name.
/// </summary>
internal sealed class TopicMetadataWarmer : IDisposable
{
    private const int MaxTopicsTracked = 10_000;
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(1);

    private readonly IAdminClient _admin;
    private readonly ILogger _logger;
    private readonly HashSet<string> _topicsSeen = new(StringComparer.Ordinal);
    private readonly BlockingCollection<string> _pending = new(new ConcurrentQueue<string>());
    private readonly Thread _worker;

    public TopicMetadataWarmer(Handle producerHandle, ILogger logger)
    {
        _admin = new DependentAdminClientBuilder(producerHandle).Build();
        _logger = logger;
        _worker = new Thread(RequestUntilDisposed) { IsBackground = true, Name = "topic metadata" };
        _worker.Start();
    }

    /// <summary>Queues a metadata request for a topic not seen before. Called by the publishing loop only; never blocks.</summary>
    public void Seen(string topic)
    {
        if (_topicsSeen.Count < MaxTopicsTracked && _topicsSeen.Add(topic))
            _pending.TryAdd(topic);
    }

    private void RequestUntilDisposed()
    {
        foreach (var topic in _pending.GetConsumingEnumerable())
        {
            try
            {
                _admin.GetMetadata(topic, s_requestTimeout);
            }
            catch (KafkaException e)
            {
                // The produce call works anyway: librdkafka's own topic scan finds the topic later.
                _logger.LogDebug("Metadata of topic {Topic} not available yet: {Reason}", topic, e.Error.Reason);
            }
        }
    }

    /// <summary>Stops taking topics and waits for the request under way (at most its timeout), so the producer can be disposed after.</summary>
    public void Dispose()
    {
        _pending.CompleteAdding();
        while (_pending.TryTake(out _))
        {
            // Not requested any more: the producer is going away.
        }
        // A request that outlives its own timeout keeps the admin client: it is gone with the process.
        if (_worker.Join(s_requestTimeout + TimeSpan.FromSeconds(1)))
            _admin.Dispose();
    }
}

using Atlas.Cdc.Configuration;
using Atlas.Cdc.Mapping;
using Confluent.Kafka;

namespace Atlas.Cdc.Replay;

/// <summary>
/// Reads the dead-letter topic from its beginning to its end as it is now, and returns the event ids its records
/// carry (header <c>id</c>). It joins no consumer group and commits nothing.
/// </summary>
internal static class DeadLetterReader
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    public static IReadOnlySet<Guid> ReadIds(CdcOptions options, CancellationToken cancellationToken)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = options.Kafka.BootstrapServers,
            GroupId = "atlas-cdc-replay",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        };
        // TLS, SASL and the like; librdkafka ignores producer-only properties on a consumer.
        foreach (var (name, value) in options.Kafka.Properties)
            config.Set(name, value);

        var topic = options.DeadLetter.Topic;
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(config).SetLogHandler((_, _) => { }).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var metadata = admin.GetMetadata(topic, s_timeout).Topics.SingleOrDefault(t => t.Topic == topic);
        var ids = new HashSet<Guid>();
        if (metadata is null || metadata.Error.Code != ErrorCode.NoError)
            return ids; // no dead letter was ever written

        var remaining = new Dictionary<TopicPartition, long>();
        var start = new List<TopicPartitionOffset>();
        foreach (var partition in metadata.Partitions)
        {
            var topicPartition = new TopicPartition(topic, partition.PartitionId);
            var marks = consumer.QueryWatermarkOffsets(topicPartition, s_timeout);
            if (marks.High.Value <= marks.Low.Value)
                continue;
            remaining[topicPartition] = marks.High.Value;
            start.Add(new TopicPartitionOffset(topicPartition, marks.Low));
        }
        consumer.Assign(start);

        var deadline = DateTime.UtcNow + s_timeout;
        while (remaining.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Reading dead-letter topic '{topic}' (Cdc:DeadLetter:Topic) did not reach its end within {s_timeout.TotalSeconds:F0} s.");
            var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (record is null || record.IsPartitionEOF)
                continue;
            deadline = DateTime.UtcNow + s_timeout;
            if (record.Message.Headers.TryGetLastBytes(MessageHeaders.Id, out var id) && Guid.TryParse(System.Text.Encoding.UTF8.GetString(id), out var guid))
                ids.Add(guid);
            if (remaining.TryGetValue(record.TopicPartition, out var end) && record.Offset.Value + 1 >= end)
                remaining.Remove(record.TopicPartition);
        }
        consumer.Close();
        return ids;
    }
}

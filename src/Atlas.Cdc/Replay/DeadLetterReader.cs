using Atlas.Cdc.Configuration;
using Atlas.Cdc.Mapping;
using Confluent.Kafka;

namespace Atlas.Cdc.Replay;

/// <summary>
/// Reads dead-letter topics from their beginning to their end as they are now, and returns the event ids their
/// records carry (header <c>id</c>). It joins no consumer group and commits nothing.
/// </summary>
internal static class DeadLetterReader
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    /// <param name="topics">Each topic once, with the setting that names it (for error messages).</param>
    public static IReadOnlySet<Guid> ReadIds(CdcOptions options, IReadOnlyList<(string Topic, string Setting)> topics, CancellationToken cancellationToken)
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

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(config).SetLogHandler((_, _) => { }).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var ids = new HashSet<Guid>();
        foreach (var (topic, setting) in topics)
            ReadTopic(consumer, admin, topic, setting, ids, cancellationToken);
        consumer.Close();
        return ids;
    }

    private static void ReadTopic(IConsumer<Ignore, Ignore> consumer, IAdminClient admin, string topic, string setting, HashSet<Guid> ids,
        CancellationToken cancellationToken)
    {
        var metadata = admin.GetMetadata(topic, s_timeout).Topics.SingleOrDefault(t => t.Topic == topic);
        if (metadata is null || metadata.Error.Code != ErrorCode.NoError)
            return; // no dead letter was ever written there

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
        if (start.Count == 0)
            return;
        consumer.Assign(start);

        var deadline = DateTime.UtcNow + s_timeout;
        while (remaining.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Reading dead-letter topic '{topic}' ({setting}) did not reach its end within {s_timeout.TotalSeconds:F0} s.");
            var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (record is null || record.IsPartitionEOF)
                continue;
            deadline = DateTime.UtcNow + s_timeout;
            if (record.Message.Headers.TryGetLastBytes(MessageHeaders.Id, out var id) && Guid.TryParse(System.Text.Encoding.UTF8.GetString(id), out var guid))
                ids.Add(guid);
            if (remaining.TryGetValue(record.TopicPartition, out var end) && record.Offset.Value + 1 >= end)
                remaining.Remove(record.TopicPartition);
        }
        consumer.Unassign();
    }
}

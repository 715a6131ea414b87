using System.Text;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// docs/consuming.md: partitioning is Java-compatible (murmur2), so a key lands on the partition Debezium or a Java producer
/// would choose. The expected partition is computed here with Kafka's own algorithm (Utils.murmur2 and
/// toPositive, rewritten below), and compared with where kcat finds each event.
/// </summary>
[Collection(CdcCollection.Name)]
public class PartitioningTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_key_lands_on_the_partition_a_java_producer_would_choose()
    {
        const int partitions = 6;
        await using var scenario = await environment.CreateScenarioAsync("murmur2");
        var topic = scenario.Topic("Order");
        environment.Kafka.CreateTopic(topic, partitions);
        await using var relay = await scenario.StartReadyRelayAsync();
        var keys = Enumerable.Range(0, 40).Select(i => $"order-{i}").Concat(["clé-é", "键-🔑", "a", "a-little-bit-longer-string"]).ToList();
        var ids = await scenario.InsertAsync([.. keys.Select(key => new OutboxRow("Order", key, "Placed", "{}"))]);

        var records = await scenario.WaitForEventsAsync([topic], ids);
        foreach (var record in records)
        {
            var expected = JavaPartition(record.KeyBytes ?? [], partitions);
            Assert.True(expected == record.Partition, $"key '{record.Key}' is on partition {record.Partition}; a Java producer would choose {expected}");
        }
        var used = records.Select(r => r.Partition).Distinct().Count();
        output.WriteLine($"{records.Count} keys on {used} of {partitions} partitions, each where Java's murmur2 partitioner puts it");
        Assert.Equal(partitions, used); // 44 keys: a partitioner ignoring the key would not pass the check above by luck
    }

    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_written_here_matches_the_values_in_kafkas_own_tests(string key, int expected) =>
        Assert.Equal(expected, Murmur2(Encoding.UTF8.GetBytes(key)));

    /// <summary>Kafka's default partitioner for a keyed record: toPositive(murmur2(key)) % partitions.</summary>
    private static int JavaPartition(byte[] key, int partitions) => (Murmur2(key) & 0x7fffffff) % partitions;

    /// <summary>org.apache.kafka.common.utils.Utils.murmur2, in Java's 32-bit signed arithmetic.</summary>
    private static int Murmur2(byte[] data)
    {
        const int m = 0x5bd1e995;
        const int r = 24;
        var length = data.Length;
        var h = unchecked((int)0x9747b28c) ^ length;
        var length4 = length / 4;
        unchecked
        {
            for (var i = 0; i < length4; i++)
            {
                var i4 = i * 4;
                var k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16) + ((data[i4 + 3] & 0xff) << 24);
                k *= m;
                k ^= (int)((uint)k >> r);
                k *= m;
                h *= m;
                h ^= k;
            }
            var tail = length & ~3;
            switch (length % 4)
            {
                case 3:
                    h ^= (data[tail + 2] & 0xff) << 16;
                    goto case 2;
                case 2:
                    h ^= (data[tail + 1] & 0xff) << 8;
                    goto case 1;
                case 1:
                    h ^= data[tail] & 0xff;
                    h *= m;
                    break;
            }
            h ^= (int)((uint)h >> 13);
            h *= m;
            h ^= (int)((uint)h >> 15);
        }
        return h;
    }
}

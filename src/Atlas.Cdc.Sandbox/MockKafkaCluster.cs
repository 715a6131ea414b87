using System.Runtime.InteropServices;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// librdkafka's in-memory mock Kafka cluster: brokers that speak the real Kafka protocol over TCP on
/// 127.0.0.1, hosted in this process (so any client, kcat or the relay, can connect while it lives).
/// </summary>
/// <remarks>
/// Traps of the mock (librdkafka 2.16): any metadata request naming an unknown topic creates it with 4
/// partitions, so create topics explicitly before a client asks for them; each partition keeps only about
/// 5 MB and silently drops older messages; broker ids start at 1. Calls are serialised with a lock and
/// throw <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.
/// </remarks>
public sealed class MockKafkaCluster : IDisposable
{
    private const int ErrorBufferSize = 512;

    private readonly Lock _lock = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    private MockKafkaCluster(IntPtr handle, IntPtr cluster, int brokerCount)
    {
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = Marshal.PtrToStringUTF8(LibRdKafka.MockClusterBootstraps(cluster))
            ?? throw new InvalidOperationException("librdkafka returned no bootstrap servers for the mock cluster.");
    }

    /// <summary>Comma-separated <c>host:port</c> list of every broker, for <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1..BrokerCount.</summary>
    public int BrokerCount { get; }

    /// <summary>Creates a mock cluster with <paramref name="brokers"/> brokers.</summary>
    /// <param name="brokers">Broker count (at least 1).</param>
    /// <returns>The running cluster.</returns>
    public static MockKafkaCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);

        var errorText = new byte[ErrorBufferSize];
        var conf = LibRdKafka.ConfNew();
        // The hosting handle never talks to a broker itself; only errors are worth printing.
        if (LibRdKafka.ConfSet(conf, "log_level", "3", errorText, ErrorBufferSize) != LibRdKafka.ConfigurationOk)
        {
            LibRdKafka.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set(log_level) failed: {LibRdKafka.ReadErrorText(errorText)}");
        }

        var handle = LibRdKafka.New(LibRdKafka.ProducerType, conf, errorText, ErrorBufferSize);
        if (handle == IntPtr.Zero)
        {
            // On failure the configuration is still ours to free.
            LibRdKafka.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed: {LibRdKafka.ReadErrorText(errorText)}");
        }

        var cluster = LibRdKafka.MockClusterNew(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            LibRdKafka.Destroy(handle);
            throw new InvalidOperationException($"rd_kafka_mock_cluster_new({brokers}) failed.");
        }

        return new MockKafkaCluster(handle, cluster, brokers);
    }

    /// <summary>Creates a topic; do it before any client mentions the topic, or the mock auto-creates it with 4 partitions.</summary>
    /// <param name="topic">Topic name.</param>
    /// <param name="partitions">Partition count.</param>
    /// <param name="replicationFactor">Replicas per partition (at most <see cref="BrokerCount"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">No partitions, or a replication factor above <see cref="BrokerCount"/>.</exception>
    /// <exception cref="InvalidOperationException">The mock refused, e.g. the topic already exists.</exception>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        // The mock accepts a replication factor above the broker count; a real cluster refuses it, so do we.
        if (partitions < 1 || replicationFactor < 1 || replicationFactor > BrokerCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(replicationFactor),
                $"Mock topic '{topic}': {partitions} partitions with replication factor {replicationFactor} " +
                $"is not possible on {BrokerCount} broker(s).");
        }

        var error = Call(cluster => LibRdKafka.MockTopicCreate(cluster, topic, partitions, replicationFactor));
        if (error != 0)
        {
            throw new InvalidOperationException(
                $"Creating mock topic '{topic}' ({partitions} partitions, replication factor {replicationFactor}) failed: " +
                $"{LibRdKafka.DescribeError(error)} (error {error}).");
        }
    }

    /// <summary>Disconnects broker <paramref name="id"/> and refuses new connections (no leader change).</summary>
    /// <param name="id">Broker id, 1-based.</param>
    public void SetBrokerDown(int id) => CheckBroker(id, "set down", cluster => LibRdKafka.MockBrokerSetDown(cluster, id));

    /// <summary>Makes broker <paramref name="id"/> accept connections again.</summary>
    /// <param name="id">Broker id, 1-based.</param>
    public void SetBrokerUp(int id) => CheckBroker(id, "set up", cluster => LibRdKafka.MockBrokerSetUp(cluster, id));

    /// <summary>Takes every broker down: the cluster is unreachable until <see cref="SetAllBrokersUp"/>.</summary>
    public void SetAllBrokersDown()
    {
        for (var id = 1; id <= BrokerCount; id++)
        {
            SetBrokerDown(id);
        }
    }

    /// <summary>Brings every broker back up.</summary>
    public void SetAllBrokersUp()
    {
        for (var id = 1; id <= BrokerCount; id++)
        {
            SetBrokerUp(id);
        }
    }

    /// <summary>Delays every response of broker <paramref name="id"/> by <paramref name="rtt"/>.</summary>
    /// <param name="id">Broker id, 1-based.</param>
    /// <param name="rtt">Round-trip time to add; <see cref="TimeSpan.Zero"/> removes the delay.</param>
    public void SetRoundTripTime(int id, TimeSpan rtt)
    {
        var milliseconds = checked((int)rtt.TotalMilliseconds);
        CheckBroker(id, "set rtt", cluster => LibRdKafka.MockBrokerSetRtt(cluster, id, milliseconds));
    }

    /// <summary>
    /// Makes the next requests of protocol type <paramref name="apiKey"/> (e.g. 0 = Produce) fail, one per
    /// error code, in order; librdkafka error -195 (<c>_TRANSPORT</c>) makes the broker disconnect instead.
    /// </summary>
    /// <param name="apiKey">Kafka protocol ApiKey.</param>
    /// <param name="errorCodes">Kafka error codes, e.g. 19 = NOT_ENOUGH_REPLICAS, 7 = REQUEST_TIMED_OUT.</param>
    public void PushRequestErrors(short apiKey, params int[] errorCodes)
    {
        ArgumentNullException.ThrowIfNull(errorCodes);
        Call(cluster =>
        {
            LibRdKafka.MockPushRequestErrorsArray(cluster, apiKey, (nuint)errorCodes.Length, errorCodes);
            return 0;
        });
    }

    /// <summary>Drops errors still queued by <see cref="PushRequestErrors"/> for <paramref name="apiKey"/>.</summary>
    /// <param name="apiKey">Kafka protocol ApiKey.</param>
    public void ClearRequestErrors(short apiKey) => Call(cluster =>
    {
        LibRdKafka.MockClearRequestErrors(cluster, apiKey);
        return 0;
    });

    /// <summary>Destroys the cluster (closing every broker socket), then its hosting handle.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_cluster != IntPtr.Zero)
            {
                LibRdKafka.MockClusterDestroy(_cluster);
                _cluster = IntPtr.Zero;
            }

            if (_handle != IntPtr.Zero)
            {
                LibRdKafka.Destroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    private void CheckBroker(int id, string operation, Func<IntPtr, int> call)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(id, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(id, BrokerCount);
        var error = Call(call);
        if (error != 0)
        {
            throw new InvalidOperationException(
                $"Mock broker {id} {operation} failed: {LibRdKafka.DescribeError(error)} (error {error}).");
        }
    }

    private int Call(Func<IntPtr, int> call)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            return call(_cluster);
        }
    }
}

using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// One PostgreSQL 15 server and one mock Kafka cluster (<see cref="BenchmarkOptions.Brokers"/>) for the whole run;
/// each scenario gets its own database, slots and topics from it.
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    public const string PostgresBin = "/usr/lib/postgresql/15/bin";

    private readonly BenchmarkOptions _options;

    private BenchEnvironment(TemporaryPostgres postgres, MockKafkaCluster kafka, BenchmarkOptions options)
    {
        Postgres = postgres;
        Kafka = kafka;
        _options = options;
    }

    public TemporaryPostgres Postgres { get; }

    public MockKafkaCluster Kafka { get; }

    /// <summary>The relay build every scenario runs (null: the Release build output next to the benchmark).</summary>
    public string? RelayAssembly { get; set; }

    /// <summary>Creates a topic with the run's partitions, replicated over min(3, brokers) brokers.</summary>
    public void CreateTopic(string topic) => Kafka.CreateTopic(topic, _options.Partitions, _options.ReplicationFactor);

    private readonly Dictionary<int, MockKafkaCluster> _otherClusters = [];

    /// <summary>
    /// The run's cluster, or (for a catch-up variant's <c>BROKERS=N</c>) a second mock cluster with another number of
    /// brokers, started on first use and hosted in this process like the first.
    /// </summary>
    public MockKafkaCluster KafkaWith(int brokers)
    {
        if (brokers == Kafka.BrokerCount)
            return Kafka;
        if (!_otherClusters.TryGetValue(brokers, out var cluster))
            _otherClusters[brokers] = cluster = MockKafkaCluster.Start(brokers);
        return cluster;
    }

    public static async Task<BenchEnvironment> StartAsync(BenchmarkOptions options)
    {
        var postgres = await TemporaryPostgres.StartAsync(new TemporaryPostgresOptions
        {
            ApplySqlDirectory = false,
            ExtraSettings =
            {
                // Counts the statements each relay runs (the polling relay's database load).
                ["shared_preload_libraries"] = "'pg_stat_statements'",
                ["pg_stat_statements.track"] = "'top'",
                // The 500k-row transaction writes ~0.5 GB of WAL: no checkpoint storm in the middle of a measurement.
                ["max_wal_size"] = "'4GB'",
                ["checkpoint_timeout"] = "'15min'",
            },
        });
        try
        {
            await postgres.ExecuteAsync("""
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atlas_poll_relay') THEN
                        CREATE ROLE atlas_poll_relay LOGIN;
                    END IF;
                END $$;
                """);
            return new BenchEnvironment(postgres, MockKafkaCluster.Start(options.Brokers), options);
        }
        catch
        {
            await postgres.DisposeAsync();
            throw;
        }
    }

    /// <summary>A database prepared like production: every file of sql/ applied.</summary>
    public Task<BenchDatabase> CreateRelayDatabaseAsync(string name) => BenchDatabase.CreateAsync(Postgres, name, polling: false);

    /// <summary>A database for the polling baseline: the same outbox plus a sequence and a <c>published_at</c> marker.</summary>
    public Task<BenchDatabase> CreatePollingDatabaseAsync(string name) => BenchDatabase.CreateAsync(Postgres, name, polling: true);

    public async ValueTask DisposeAsync()
    {
        foreach (var cluster in _otherClusters.Values)
            cluster.Dispose();
        Kafka.Dispose();
        await Postgres.DisposeAsync();
    }
}

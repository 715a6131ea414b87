using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// One real PostgreSQL 15 server and one 3-broker Kafka-protocol cluster (librdkafka's mock) for the whole test
/// run. Each test gets its own database, slot and topic prefix from <see cref="CreateScenarioAsync"/>.
/// </summary>
public sealed class CdcEnvironment : IAsyncLifetime
{
    private int _scenarios;

    public TemporaryPostgres Postgres { get; private set; } = null!;

    public MockKafkaCluster Kafka { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await TemporaryPostgres.StartAsync(new TemporaryPostgresOptions
        {
            ApplySqlDirectory = false,
            ExtraSettings = { ["max_wal_size"] = "'256MB'", ["checkpoint_timeout"] = "'30s'" },
        });
        Kafka = MockKafkaCluster.Start(brokers: 3);
    }

    /// <summary>A fresh database with sql/ applied, a slot name and a topic prefix no other test uses.</summary>
    public async Task<RelayScenario> CreateScenarioAsync(string name)
    {
        var number = Interlocked.Increment(ref _scenarios);
        var scenario = new RelayScenario(this, $"{name}_{number}".ToLowerInvariant());
        await scenario.CreateDatabaseAsync();
        return scenario;
    }

    public async Task DisposeAsync()
    {
        Kafka?.Dispose();
        if (Postgres is not null)
            await Postgres.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class CdcCollection : ICollectionFixture<CdcEnvironment>
{
    public const string Name = "PostgreSQL and Kafka";
}

using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>
/// One real PostgreSQL 15 server and one Kafka-protocol cluster (librdkafka's mock) for the run; each test gets its
/// own database from <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class OutboxEnvironment : IAsyncLifetime
{
    private int _databases;

    public TemporaryPostgres Postgres { get; private set; } = null!;

    public MockKafkaCluster Kafka { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await TemporaryPostgres.StartAsync(new TemporaryPostgresOptions { ApplySqlDirectory = false });
        Kafka = MockKafkaCluster.Start(brokers: 1);
    }

    /// <summary>A fresh database with sql/ applied and a login role that has only atlas_cdc_writer.</summary>
    public async Task<OutboxDatabase> CreateDatabaseAsync(string name)
    {
        var database = new OutboxDatabase(this, $"{name}_{Interlocked.Increment(ref _databases)}".ToLowerInvariant());
        await database.CreateAsync();
        return database;
    }

    public async Task DisposeAsync()
    {
        Kafka?.Dispose();
        if (Postgres is not null)
            await Postgres.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class OutboxCollection : ICollectionFixture<OutboxEnvironment>
{
    public const string Name = "Outbox writer: PostgreSQL and Kafka";
}

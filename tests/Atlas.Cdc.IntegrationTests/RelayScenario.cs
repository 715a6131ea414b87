using System.Diagnostics;
using Atlas.Cdc.Sandbox;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// One test's world: its own database (sql/ applied), slot, topic prefix and relay processes. Disposing kills
/// the relays, drops the slot and the database, so no test leaks into another.
/// </summary>
public sealed class RelayScenario(CdcEnvironment environment, string name) : IAsyncDisposable
{
    private readonly List<RelayProcess> _relays = [];

    public string Database { get; } = "db_" + name;

    public string Slot { get; } = "slot_" + name;

    public string TopicPrefix { get; } = "t_" + name;

    public CdcEnvironment Environment => environment;

    public string SuperuserConnectionString => environment.Postgres.ConnectionStringFor("postgres", database: Database);

    /// <summary>The relay connects as the least-privilege role sql/003_roles.sql creates.</summary>
    public string RelayConnectionString => environment.Postgres.ConnectionStringFor("atlas_cdc_relay", database: Database);

    public string Topic(string aggregateType) => $"{TopicPrefix}.{aggregateType}";

    /// <summary>The dead-letter topic the scenario's relays use (Cdc:DeadLetter:Topic).</summary>
    public string DeadLetterTopic => TopicPrefix + ".dlq";

    internal async Task CreateDatabaseAsync()
    {
        await environment.Postgres.ExecuteAsync($"CREATE DATABASE {Database}");
        await using var connection = await OpenAsync();
        foreach (var file in Directory.GetFiles(RepositoryPaths.SqlDirectory, "*.sql").Order(StringComparer.Ordinal))
        {
            await using var command = new NpgsqlCommand(await File.ReadAllTextAsync(file), connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    public Dictionary<string, string> RelaySettings(IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = RelayConnectionString,
            ["Cdc__Kafka__BootstrapServers"] = environment.Kafka.BootstrapServers,
            ["Cdc__Slot"] = Slot,
            ["Cdc__TopicTemplate"] = TopicPrefix + ".{aggregate_type}",
            ["Cdc__DeadLetter__Topic"] = DeadLetterTopic,
            ["Cdc__ReconnectMaxDelay"] = "00:00:02",
            ["Logging__LogLevel__Default"] = "Information",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            settings[key] = value;
        return settings;
    }

    public RelayProcess StartRelay(IReadOnlyDictionary<string, string>? extra = null)
    {
        var relay = RelayProcess.Start(RelaySettings(extra));
        _relays.Add(relay);
        return relay;
    }

    public async Task<RelayProcess> StartReadyRelayAsync(IReadOnlyDictionary<string, string>? extra = null)
    {
        var relay = StartRelay(extra);
        await relay.WaitUntilReadyAsync();
        return relay;
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(SuperuserConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Inserts the events in one transaction and returns their ids in insert order.</summary>
    public async Task<List<Guid>> InsertAsync(params OutboxRow[] rows)
    {
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var ids = await InsertAsync(connection, rows);
        await transaction.CommitAsync();
        return ids;
    }

    public static async Task<List<Guid>> InsertAsync(NpgsqlConnection connection, params OutboxRow[] rows)
    {
        var ids = new List<Guid>(rows.Length);
        foreach (var row in rows)
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, headers) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb) RETURNING id",
                connection);
            command.Parameters.Add(new NpgsqlParameter { Value = row.AggregateType });
            command.Parameters.Add(new NpgsqlParameter { Value = row.AggregateId });
            command.Parameters.Add(new NpgsqlParameter { Value = row.EventType });
            command.Parameters.Add(new NpgsqlParameter { Value = row.Payload, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)row.Headers ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            ids.Add((Guid)(await command.ExecuteScalarAsync())!);
        }
        return ids;
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = await OpenAsync();
        return await SqlCommands.ScalarAsync<T>(connection, sql);
    }

    public Task<NpgsqlLogSequenceNumber> CurrentWalLsnAsync() => ScalarAsync<NpgsqlLogSequenceNumber>("SELECT pg_current_wal_lsn()");

    /// <summary>Whether a relay streams from the scenario's slot now; false while the server is still starting.</summary>
    public async Task<bool> SlotActiveAsync()
    {
        try
        {
            return await ScalarAsync<bool>($"SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = '{Slot}'), false)");
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    public async Task<NpgsqlLogSequenceNumber?> ConfirmedLsnAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Slot });
        return await command.ExecuteScalarAsync() is NpgsqlLogSequenceNumber lsn ? lsn : null;
    }

    /// <summary>
    /// Whether the slot still holds the event: the next relay is sent it. Peeks the slot's pending changes as
    /// pgoutput lays them out (the id is there as text). Comparing <c>confirmed_flush_lsn</c> with a WAL position read
    /// earlier cannot tell this: an idle relay rightly confirms WAL that other databases and background writers
    /// add before the event. Peeking needs the slot released, so it first waits for the walsender to let go.
    /// </summary>
    public async Task<bool> SlotHoldsEventAsync(Guid id)
    {
        await using var connection = await OpenAsync();
        async Task<string> ActivePid()
        {
            await using var active = new NpgsqlCommand("SELECT coalesce(active_pid::text, 'none') FROM pg_replication_slots WHERE slot_name = $1", connection);
            active.Parameters.Add(new NpgsqlParameter { Value = Slot });
            return (string)(await active.ExecuteScalarAsync())!;
        }
        await Poll.UntilAsync($"slot {Slot} released", async () => await ActivePid() == "none", TimeSpan.FromSeconds(15),
            async () => $"active_pid {await ActivePid()}");

        await using var command = new NpgsqlCommand(
            """
            SELECT count(*) FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
                'proto_version', '1', 'publication_names', 'atlas_cdc_outbox')
            WHERE position($2 IN data) > 0
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Slot });
        command.Parameters.Add(new NpgsqlParameter { Value = System.Text.Encoding.UTF8.GetBytes(id.ToString()) });
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    /// <summary>Reads the given topics until every expected id has arrived (duplicates allowed), or fails with what is missing.</summary>
    public async Task<List<KafkaRecord>> WaitForEventsAsync(IEnumerable<string> topics, IReadOnlyCollection<Guid> expectedIds, TimeSpan? timeout = null)
    {
        var expected = expectedIds.Select(id => id.ToString()).ToHashSet();
        var topicList = topics.Distinct().ToList();
        var stopwatch = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        while (true)
        {
            var records = new List<KafkaRecord>();
            foreach (var topic in topicList)
                records.AddRange(await KafkaTopicReader.ReadAllAsync(environment.Kafka.BootstrapServers, topic));
            var missing = expected.Except(records.Select(r => r.Header("id") ?? "")).ToList();
            if (missing.Count == 0)
                return records;
            if (stopwatch.Elapsed > limit)
                throw new Xunit.Sdk.XunitException(
                    $"{missing.Count} of {expected.Count} events did not arrive within {Durations.Format(limit)} (first missing: {missing[0]}); {records.Count} records read.");
            await Task.Delay(250);
        }
    }

    public async Task<List<KafkaRecord>> ReadTopicAsync(string topic) =>
        [.. await KafkaTopicReader.ReadAllAsync(environment.Kafka.BootstrapServers, topic)];

    public async ValueTask DisposeAsync()
    {
        foreach (var relay in _relays)
            await relay.DisposeAsync();
        try
        {
            await using var connection = new NpgsqlConnection(environment.Postgres.SuperuserConnectionString);
            await connection.OpenAsync();
            await using (var drop = new NpgsqlCommand(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", connection))
            {
                drop.Parameters.Add(new NpgsqlParameter { Value = Slot });
                await drop.ExecuteNonQueryAsync();
            }
            await using var dropDatabase = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", connection);
            await dropDatabase.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The server may be down on purpose at the end of a failure test; it is removed with the environment.
        }
    }
}

/// <summary>An outbox row as an application writes it.</summary>
public sealed record OutboxRow(string AggregateType, string AggregateId, string EventType, string Payload, string? Headers = null);

using System.Diagnostics;
using Atlas.Cdc.Sandbox;
using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// "Under load": a few connections inserting single-row transactions continuously while a fault happens. Each
/// writer owns its own aggregate ids and inserts one row at a time, so its commit order is its sequence order;
/// writers survive PostgreSQL restarts by reconnecting. What was really committed is read back from the table
/// (<see cref="CommittedByKeyAsync"/>), because an insert whose connection died during COMMIT has an unknown outcome.
/// </summary>
internal sealed class WriterLoad : IAsyncDisposable
{
    private readonly RelayScenario _scenario;
    private readonly string _aggregateType;
    private readonly int _ratePerWriter;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _writers = [];
    private long _committed;
    private long _failures;
    private long _maxLatencyTicks;

    private WriterLoad(RelayScenario scenario, string aggregateType, int ratePerWriter)
    {
        _scenario = scenario;
        _aggregateType = aggregateType;
        _ratePerWriter = ratePerWriter;
    }

    /// <summary>Inserts that returned success (rows whose outcome is unknown are not counted).</summary>
    public long Committed => Interlocked.Read(ref _committed);

    /// <summary>Inserts that failed (server down, connection dropped).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Slowest successful insert, connection set-up excluded.</summary>
    public TimeSpan MaxLatency => TimeSpan.FromTicks(Interlocked.Read(ref _maxLatencyTicks));

    /// <summary>Starts <paramref name="writers"/> connections, each aiming at <paramref name="ratePerWriter"/> transactions a second.</summary>
    public static WriterLoad Start(RelayScenario scenario, string aggregateType, int writers = 4, int ratePerWriter = 150, int keysPerWriter = 5)
    {
        var load = new WriterLoad(scenario, aggregateType, ratePerWriter);
        for (var writer = 0; writer < writers; writer++)
        {
            var number = writer;
            load._writers.Add(Task.Run(() => load.WriteAsync(number, keysPerWriter)));
        }
        return load;
    }

    /// <summary>Waits until at least <paramref name="count"/> more inserts have committed.</summary>
    public async Task WaitForMoreAsync(long count, TimeSpan? timeout = null)
    {
        var target = Committed + count;
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var stopwatch = Stopwatch.StartNew();
        while (Committed < target)
        {
            if (stopwatch.Elapsed > limit)
                throw new TimeoutException($"The writers committed {Committed} rows, not {target}, within {Durations.Format(limit)}; {Failures} failures.");
            await Task.Delay(20);
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_writers);
    }

    /// <summary>
    /// Stops writing, waits until every committed event of this load is in <paramref name="topic"/> (duplicates
    /// allowed), and asserts that each key's first deliveries follow its commit order.
    /// </summary>
    public async Task<LoadDelivery> StopAndCheckDeliveryAsync(string topic, TimeSpan? timeout = null)
    {
        await StopAsync();
        var expected = await CommittedByKeyAsync();
        var records = await _scenario.WaitForEventsAsync([topic], expected.Values.SelectMany(ids => ids).ToList(), timeout);
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, expected);
        return new LoadDelivery(expected.Values.Sum(ids => ids.Count), records);
    }

    /// <summary>
    /// Every committed row of this load, grouped by key, in commit order (each key has one writer), read from
    /// <paramref name="rows"/> (the outbox, or the outbox plus what retention deleted).
    /// </summary>
    public Task<Dictionary<string, List<Guid>>> CommittedByKeyAsync(string rows = "public.outbox") =>
        CommittedByKeyAsync(_scenario, _aggregateType, rows);

    /// <summary>Rows of <paramref name="aggregateType"/> with event type 'Written', by key, in the order of their payload's <c>seq</c>.</summary>
    public static async Task<Dictionary<string, List<Guid>>> CommittedByKeyAsync(RelayScenario scenario, string aggregateType, string rows = "public.outbox")
    {
        await using var connection = await scenario.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT aggregate_id, id FROM {rows} WHERE aggregate_type = $1 AND event_type = 'Written' ORDER BY aggregate_id, (payload->>'seq')::bigint", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = aggregateType });
        await using var reader = await command.ExecuteReaderAsync();
        var byKey = new Dictionary<string, List<Guid>>();
        while (await reader.ReadAsync())
        {
            var key = reader.GetString(0);
            if (!byKey.TryGetValue(key, out var ids))
                byKey[key] = ids = [];
            ids.Add(reader.GetGuid(1));
        }
        return byKey;
    }

    private async Task WriteAsync(int writer, int keys)
    {
        var interval = TimeSpan.FromSeconds(1.0 / _ratePerWriter);
        var builder = new NpgsqlConnectionStringBuilder(_scenario.SuperuserConnectionString) { Pooling = false, Timeout = 3 };
        var pace = Stopwatch.StartNew();
        long sequence = 0;
        long paceBase = 0;
        NpgsqlConnection? connection = null;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    if (connection is null)
                    {
                        connection = new NpgsqlConnection(builder.ConnectionString);
                        await connection.OpenAsync(_stop.Token);
                    }
                    var started = Stopwatch.GetTimestamp();
                    await using (var command = new NpgsqlCommand(
                        "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ($1, $2, 'Written', $3::jsonb)", connection))
                    {
                        command.Parameters.Add(new NpgsqlParameter { Value = _aggregateType });
                        command.Parameters.Add(new NpgsqlParameter { Value = $"w{writer}-k{sequence % keys}" });
                        command.Parameters.Add(new NpgsqlParameter { Value = $$"""{"w": {{writer}}, "seq": {{sequence}}}""", NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                        sequence++; // a failed insert may still have committed: never reuse its number
                        await command.ExecuteNonQueryAsync(CancellationToken.None);
                    }
                    var latency = Stopwatch.GetElapsedTime(started).Ticks;
                    if (latency > Interlocked.Read(ref _maxLatencyTicks))
                        Interlocked.Exchange(ref _maxLatencyTicks, latency);
                    Interlocked.Increment(ref _committed);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    Interlocked.Increment(ref _failures);
                    if (connection is not null)
                        await connection.DisposeAsync();
                    connection = null;
                    await Task.Delay(100, CancellationToken.None);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                // Pace to the target rate: sleep only while ahead of schedule, so slow inserts are not made slower.
                var ahead = interval * (sequence - paceBase) - pace.Elapsed;
                if (ahead < TimeSpan.FromSeconds(-1))
                {
                    // Far behind (an outage): start a new schedule instead of bursting to catch up.
                    pace.Restart();
                    paceBase = sequence;
                }
                else if (ahead > TimeSpan.FromMilliseconds(1))
                    await Task.Delay(ahead, CancellationToken.None);
            }
        }
        finally
        {
            if (connection is not null)
                await connection.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }
}

/// <summary>What a load's delivery check found: events committed, and every record read back.</summary>
internal sealed record LoadDelivery(int Committed, List<KafkaRecord> Records)
{
    public int Duplicates => OrderAssertions.Duplicates(Records);
}

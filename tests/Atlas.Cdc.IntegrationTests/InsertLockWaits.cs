using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Samples pg_stat_activity and pg_locks every 10 ms for INSERTs that wait on a heavyweight lock, and records what
/// each waited for and who held it, so that a failure says what waited on what.
/// </summary>
internal sealed class InsertLockWaits : IAsyncDisposable
{
    // One row per waiting INSERT and blocker: the lock it wants, and the backend holding a conflicting lock
    // (pg_blocking_pids), with what that backend was running.
    private const string WaitsQuery = """
        SELECT w.wait_event, l.locktype, l.mode, coalesce(l.relation::regclass::text, ''),
               coalesce(b.pid, 0), coalesce(b.backend_type, ''), coalesce(left(b.query, 160), '')
        FROM pg_stat_activity w
        JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted
        LEFT JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocker(pid) ON true
        LEFT JOIN pg_stat_activity b ON b.pid = blocker.pid
        WHERE w.datname = current_database() AND w.wait_event_type = 'Lock' AND w.query ILIKE 'INSERT%'
        """;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private readonly List<LockWait> _waits = [];
    private int _samples;

    private InsertLockWaits(RelayScenario scenario) => _sampling = Task.Run(() => SampleAsync(scenario));

    public static InsertLockWaits Start(RelayScenario scenario) => new(scenario);

    /// <summary>Samples taken so far.</summary>
    public int Samples => Volatile.Read(ref _samples);

    /// <summary>Every wait seen, one per sample in which it was seen.</summary>
    public IReadOnlyList<LockWait> Waits
    {
        get
        {
            lock (_waits)
                return [.. _waits];
        }
    }

    /// <summary>The distinct waits among <paramref name="waits"/>, each with how many samples saw it.</summary>
    public static string Describe(IEnumerable<LockWait> waits) =>
        string.Join("\n", waits.GroupBy(w => w.ToString()).Select(g => $"{g.Count()}x {g.Key}"));

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
    }

    private async Task SampleAsync(RelayScenario scenario)
    {
        await using var connection = await scenario.OpenAsync();
        while (!_stop.IsCancellationRequested)
        {
            await using (var command = new NpgsqlCommand(WaitsQuery, connection))
            await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    var wait = new LockWait(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                        reader.GetInt32(4), reader.GetString(5), reader.GetString(6));
                    lock (_waits)
                        _waits.Add(wait);
                }
                Interlocked.Increment(ref _samples);
            }
            await Task.Delay(10, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }
}

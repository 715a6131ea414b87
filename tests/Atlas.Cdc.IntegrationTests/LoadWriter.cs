using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Application load: several connections committing single-row outbox transactions at a target rate. Each
/// connection owns its own aggregate ids, so a key's commit order is simply that connection's order.
/// </summary>
public sealed class LoadWriter : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, List<Guid>> _committedByKey = new();
    private readonly List<Task> _writers = [];
    private long _committed;

    private LoadWriter()
    {
    }

    public long Committed => Interlocked.Read(ref _committed);

    /// <summary>Every committed event id, per key, in commit order.</summary>
    public IReadOnlyDictionary<string, List<Guid>> CommittedByKey => _committedByKey;

    public IReadOnlyCollection<Guid> CommittedIds => _committedByKey.Values.SelectMany(ids => ids).ToList();

    public static LoadWriter Start(string connectionString, string aggregateType, int transactionsPerSecond,
        int connections = 4, int keysPerConnection = 5)
    {
        var writer = new LoadWriter();
        var perConnection = Math.Max(1, transactionsPerSecond / connections);
        for (var c = 0; c < connections; c++)
        {
            var keys = Enumerable.Range(0, keysPerConnection).Select(k => $"{aggregateType.ToLowerInvariant()}-{c}-{k}").ToArray();
            writer._writers.Add(Task.Run(() => writer.WriteAsync(connectionString, aggregateType, keys, perConnection)));
        }
        return writer;
    }

    private async Task WriteAsync(string connectionString, string aggregateType, string[] keys, int perSecond)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ($1, $2, 'Load', $3::jsonb) RETURNING id",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = aggregateType });
        command.Parameters.Add(new NpgsqlParameter { Value = "" });
        command.Parameters.Add(new NpgsqlParameter { Value = "", NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.PrepareAsync();

        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (!_stop.IsCancellationRequested)
        {
            var key = keys[sent % keys.Length];
            command.Parameters[1].Value = key;
            command.Parameters[2].Value = $$"""{"key": "{{key}}", "seq": {{sent}}}""";
            // Autocommit: when ExecuteScalar returns, the transaction has committed.
            var id = (Guid)(await command.ExecuteScalarAsync())!;
            _committedByKey.GetOrAdd(key, _ => []).Add(id);
            Interlocked.Increment(ref _committed);
            sent++;
            var due = TimeSpan.FromSeconds((double)sent / perSecond);
            if (due > clock.Elapsed)
                await Task.Delay(due - clock.Elapsed);
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_writers);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }
}

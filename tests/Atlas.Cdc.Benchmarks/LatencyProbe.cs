using System.Text.Json;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// An independent Kafka consumer (kcat, via <see cref="KafkaTopicReader.TailAsync"/>) that records, for every
/// message, the time its line arrived minus the <c>ts</c> the row carries (its <c>clock_timestamp()</c> at insert,
/// a few microseconds before COMMIT). The consumer's own delay is part of the figure: kcat polls an idle broker
/// every 5 ms (fetch.wait.max.ms), and its output is read through a pipe.
/// </summary>
internal sealed class LatencyProbe : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(DateTimeOffset Committed, DateTimeOffset Received)> _samples = [];
    private readonly Task _tail;

    private LatencyProbe(string bootstrap, string topic) => _tail = Task.Run(() => TailAsync(bootstrap, topic));

    public static LatencyProbe Start(string bootstrap, string topic) => new(bootstrap, topic);

    public int Count
    {
        get
        {
            lock (_samples)
                return _samples.Count;
        }
    }

    private async Task TailAsync(string bootstrap, string topic)
    {
        try
        {
            await foreach (var record in KafkaTopicReader.TailAsync(bootstrap, topic, "beginning", _stop.Token))
            {
                using var payload = JsonDocument.Parse(record.Payload ?? "{}");
                var seconds = payload.RootElement.GetProperty("ts").GetDecimal();
                var committed = DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
                lock (_samples)
                    _samples.Add((committed, record.ReceivedAt));
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped by the benchmark.
        }
    }

    public async Task WaitForCountAsync(long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count && DateTime.UtcNow < deadline)
        {
            if (_tail.IsFaulted)
                await _tail;
            await Task.Delay(20);
        }
    }

    /// <summary>Latencies of the messages whose rows were written in [<paramref name="since"/>, <paramref name="until"/>).</summary>
    public LatencyStats Measure(DateTimeOffset since, DateTimeOffset until)
    {
        lock (_samples)
            return LatencyStats.From(_samples.Where(s => s.Committed >= since && s.Committed < until)
                .Select(s => (s.Received - s.Committed).TotalMilliseconds).ToList());
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _tail;
        }
        catch (Exception e) when (e is KcatException or OperationCanceledException)
        {
            // kcat killed on purpose.
        }
        _stop.Dispose();
    }
}

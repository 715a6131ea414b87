using System.Diagnostics;

namespace Atlas.Cdc.Tracking;

/// <summary>
/// Knows what Kafka has acknowledged, in commit order. The confirmable LSN moves past a transaction only when it
/// and every earlier transaction are sealed and fully acknowledged. Sends happen on the replication reader's
/// thread, acknowledgements on librdkafka's delivery thread; every operation is O(1) (amortised for the queue).
/// </summary>
internal sealed class AcknowledgementTracker
{
    private readonly Lock _lock = new();
    private readonly Queue<TrackedTransaction> _transactions = new();
    private readonly int _maxInFlightEvents;
    private readonly long _maxInFlightBytes;
    private long _inFlightEvents;
    private long _inFlightBytes;
    private ulong _confirmableLsn;
    private TaskCompletionSource? _capacityWaiter;

    public AcknowledgementTracker(int maxInFlightEvents, long maxInFlightBytes, ulong confirmedLsn = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlightEvents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlightBytes, 1);
        _maxInFlightEvents = maxInFlightEvents;
        _maxInFlightBytes = maxInFlightBytes;
        _confirmableLsn = confirmedLsn;
    }

    public long InFlightEvents => Interlocked.Read(ref _inFlightEvents);

    public long InFlightBytes => Interlocked.Read(ref _inFlightBytes);

    /// <summary>True when nothing is in flight and no transaction is open or waiting for acknowledgements.</summary>
    public bool IsIdle
    {
        get
        {
            lock (_lock)
                return _transactions.Count == 0 && Interlocked.Read(ref _inFlightEvents) == 0;
        }
    }

    public TrackedTransaction Begin(ulong commitLsn, DateTimeOffset commitTime)
    {
        var transaction = new TrackedTransaction(commitLsn, commitTime, Stopwatch.GetTimestamp());
        lock (_lock)
            _transactions.Enqueue(transaction);
        return transaction;
    }

    public void Sent(TrackedTransaction transaction, int bytes)
    {
        transaction.AddPending();
        Interlocked.Increment(ref _inFlightEvents);
        Interlocked.Add(ref _inFlightBytes, bytes);
    }

    public void Acknowledged(TrackedTransaction transaction, int bytes)
    {
        var events = Interlocked.Decrement(ref _inFlightEvents);
        var total = Interlocked.Add(ref _inFlightBytes, -bytes);
        transaction.RemovePending();
        if (Volatile.Read(ref _capacityWaiter) is { } waiter && events < _maxInFlightEvents && total < _maxInFlightBytes)
            waiter.TrySetResult();
    }

    public static void Commit(TrackedTransaction transaction, ulong endLsn) => transaction.Seal(endLsn);

    /// <summary>Pops every completed transaction at the head of the queue and returns the LSN now safe to confirm.</summary>
    public ulong AdvanceConfirmable()
    {
        lock (_lock)
        {
            while (_transactions.TryPeek(out var head) && head.IsComplete)
            {
                _transactions.Dequeue();
                if (head.EndLsn > _confirmableLsn)
                    _confirmableLsn = head.EndLsn;
            }
            return _confirmableLsn;
        }
    }

    /// <summary>
    /// Raises the confirmable LSN to a server position seen while idle (keepalives), so a quiet outbox does not pin
    /// WAL. The caller must read <paramref name="serverLsn"/> before checking <see cref="IsIdle"/>: see ReplicationSession.
    /// </summary>
    public ulong AdvanceIdle(ulong serverLsn)
    {
        lock (_lock)
        {
            if (_transactions.Count == 0 && Interlocked.Read(ref _inFlightEvents) == 0 && serverLsn > _confirmableLsn)
                _confirmableLsn = serverLsn;
            return _confirmableLsn;
        }
    }

    /// <summary>Age of the oldest transaction not yet fully acknowledged, or zero when caught up.</summary>
    public TimeSpan OldestPendingAge(out DateTimeOffset? commitTime)
    {
        lock (_lock)
        {
            foreach (var transaction in _transactions)
            {
                if (transaction.IsComplete)
                    continue;
                commitTime = transaction.CommitTime;
                return Stopwatch.GetElapsedTime(transaction.StartedTimestamp);
            }
        }
        commitTime = null;
        return TimeSpan.Zero;
    }

    /// <summary>Completes when in-flight events and bytes are under their limits again.</summary>
    public ValueTask WaitForCapacityAsync(CancellationToken cancellationToken)
    {
        if (HasCapacity)
            return ValueTask.CompletedTask;
        return new ValueTask(WaitSlowAsync(cancellationToken));
    }

    private bool HasCapacity =>
        Interlocked.Read(ref _inFlightEvents) < _maxInFlightEvents && Interlocked.Read(ref _inFlightBytes) < _maxInFlightBytes;

    private async Task WaitSlowAsync(CancellationToken cancellationToken)
    {
        while (!HasCapacity)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _capacityWaiter, waiter);
            // Re-check after publishing the waiter: an acknowledgement may have landed in between.
            if (HasCapacity)
                break;
            await waiter.Task.WaitAsync(TimeSpan.FromMilliseconds(250), cancellationToken)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
        }
        Volatile.Write(ref _capacityWaiter, null);
    }

    /// <summary>Waits until nothing is in flight, or the timeout passes. Returns whether everything was acknowledged.</summary>
    public async Task<bool> WaitForDrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Interlocked.Read(ref _inFlightEvents) > 0)
        {
            if (Stopwatch.GetTimestamp() >= deadline || cancellationToken.IsCancellationRequested)
                return false;
            await Task.Delay(10, CancellationToken.None);
        }
        return true;
    }
}

using System.Diagnostics;

namespace Atlas.Cdc.Offsets;

/// <summary>
/// Knows what Kafka has acknowledged, in commit order. The confirmable LSN moves past a transaction only when it
/// and every earlier transaction are sealed and fully acknowledged. Sends happen on the replication reader's
/// thread, acknowledgements on librdkafka's delivery thread; every operation is O(1) (amortised for the queue).
/// It also measures the two things operators watch: <see cref="Lag"/> (how old the oldest undelivered commit is)
/// and <see cref="StalledFor"/> (how long Kafka has acknowledged nothing while events wait).
/// </summary>
internal sealed class AcknowledgementTracker
{
    private readonly Lock _lock = new();
    private readonly Queue<TrackedTransaction> _transactions = new();
    private readonly int _maxInFlightEvents;
    private readonly long _maxInFlightBytes;
    private readonly TimeProvider _time;
    private long _inFlightEvents;
    private long _lastProgress;
    private long _inFlightBytes;
    private ulong _confirmableLsn;
    private TaskCompletionSource? _capacityWaiter;

    public AcknowledgementTracker(int maxInFlightEvents, long maxInFlightBytes, ulong confirmedLsn = 0, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlightEvents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlightBytes, 1);
        _maxInFlightEvents = maxInFlightEvents;
        _maxInFlightBytes = maxInFlightBytes;
        _confirmableLsn = confirmedLsn;
        _time = time ?? TimeProvider.System;
        _lastProgress = _time.GetTimestamp();
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

    /// <summary>
    /// Starts tracking a transaction. Completed transactions at the head of the queue are dropped here too, not only
    /// when the next confirmation asks: kept for the 500 ms between confirmations, a catch-up's 30,000 transactions
    /// (and their header bytes) outlived their first collections and filled gen1 and gen2 (docs/benchmarks.md,
    /// second round, part seven).
    /// </summary>
    public TrackedTransaction Begin(ulong commitLsn, DateTimeOffset commitTime)
    {
        var transaction = new TrackedTransaction(commitLsn, commitTime);
        lock (_lock)
        {
            DropCompleted();
            _transactions.Enqueue(transaction);
        }
        return transaction;
    }

    /// <summary>Counts an event as in flight. Called on the reader thread only.</summary>
    public void Sent(TrackedTransaction transaction, int bytes)
    {
        // Waiting starts now, not at an acknowledgement long ago. Only this thread raises the count from 0, so
        // the clock is set before anyone can see an event in flight.
        if (Interlocked.Read(ref _inFlightEvents) == 0)
            Volatile.Write(ref _lastProgress, _time.GetTimestamp());
        transaction.AddPending();
        Interlocked.Increment(ref _inFlightEvents);
        Interlocked.Add(ref _inFlightBytes, bytes);
    }

    public void Acknowledged(TrackedTransaction transaction, int bytes)
    {
        Volatile.Write(ref _lastProgress, _time.GetTimestamp());
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
            DropCompleted();
            return _confirmableLsn;
        }
    }

    /// <summary>Under the lock: pops the completed transactions at the head, raising the confirmable LSN past each.</summary>
    private void DropCompleted()
    {
        while (_transactions.TryPeek(out var head) && head.IsComplete)
        {
            _transactions.Dequeue();
            if (head.EndLsn > _confirmableLsn)
                _confirmableLsn = head.EndLsn;
        }
    }

    /// <summary>
    /// Time since the COMMIT (PostgreSQL's commit timestamp, from pgoutput's BEGIN) of the oldest transaction whose
    /// events Kafka has not all acknowledged; zero when everything read is acknowledged. A backlog read an hour
    /// after it was committed shows an hour, however recently the relay read it.
    /// </summary>
    public TimeSpan Lag
    {
        get
        {
            lock (_lock)
            {
                foreach (var transaction in _transactions)
                {
                    if (transaction.IsComplete)
                        continue;
                    var lag = _time.GetUtcNow() - transaction.CommitTime;
                    return lag > TimeSpan.Zero ? lag : TimeSpan.Zero; // the database's clock may be a little ahead
                }
            }
            return TimeSpan.Zero;
        }
    }

    /// <summary>
    /// While events are in flight, the time since Kafka last acknowledged one (or since they started waiting, if
    /// later); zero when nothing is in flight. It stays near zero through a long transaction or a backlog as long
    /// as acknowledgements flow, and grows only when Kafka makes no progress.
    /// </summary>
    public TimeSpan StalledFor =>
        Interlocked.Read(ref _inFlightEvents) == 0
            ? TimeSpan.Zero
            : _time.GetElapsedTime(Volatile.Read(ref _lastProgress));

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

    /// <summary>
    /// Waits until nothing is in flight, or the timeout passes, or <paramref name="giveUp"/> says nothing more will be
    /// acknowledged (the publisher failed). Returns whether everything was acknowledged.
    /// </summary>
    public async Task<bool> WaitForDrainAsync(TimeSpan timeout, CancellationToken cancellationToken, Func<bool>? giveUp = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Interlocked.Read(ref _inFlightEvents) > 0)
        {
            if (Stopwatch.GetTimestamp() >= deadline || cancellationToken.IsCancellationRequested || giveUp?.Invoke() == true)
                return false;
            await Task.Delay(10, CancellationToken.None);
        }
        return true;
    }
}

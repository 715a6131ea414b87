using Atlas.Cdc.Offsets;

namespace Atlas.Cdc.UnitTests;

public class AcknowledgementTrackerTests
{
    private static readonly DateTimeOffset s_commitTime = DateTimeOffset.UnixEpoch;

    [Fact]
    public void Confirms_a_transaction_only_after_every_event_of_it_is_acknowledged()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 50);
        var transaction = tracker.Begin(100, s_commitTime);
        tracker.Sent(transaction, 10);
        tracker.Sent(transaction, 10);
        AcknowledgementTracker.Commit(transaction, 120);

        tracker.Acknowledged(transaction, 10);
        Assert.Equal(50UL, tracker.AdvanceConfirmable());

        tracker.Acknowledged(transaction, 10);
        Assert.Equal(120UL, tracker.AdvanceConfirmable());
        Assert.True(tracker.IsIdle);
    }

    [Fact]
    public void Beginning_a_transaction_lets_go_of_the_completed_ones_before_it_without_a_confirmation()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20);
        var completed = CompletedTransactions(tracker, 1000);
        var open = tracker.Begin(100_000, s_commitTime);
        tracker.Sent(open, 10);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var kept = completed.Count(reference => reference.IsAlive);
        Assert.True(kept == 0, $"{kept} of {completed.Count} completed transactions were still held by the tracker");
        Assert.Equal(9_992UL, tracker.AdvanceConfirmable()); // the last completed one's end; the open one holds the rest
        Assert.False(tracker.IsIdle);
    }

    /// <summary>Transactions sent, sealed and acknowledged, known to the caller only through weak references.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static List<WeakReference> CompletedTransactions(AcknowledgementTracker tracker, int count)
    {
        var references = new List<WeakReference>();
        for (var i = 0; i < count; i++)
        {
            var transaction = tracker.Begin((ulong)i * 10, s_commitTime);
            tracker.Sent(transaction, 10);
            AcknowledgementTracker.Commit(transaction, (ulong)i * 10 + 2);
            tracker.Acknowledged(transaction, 10);
            references.Add(new WeakReference(transaction));
        }
        return references;
    }

    [Fact]
    public void A_later_transaction_acknowledged_first_waits_for_the_earlier_one()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20);
        var first = tracker.Begin(100, s_commitTime);
        tracker.Sent(first, 1);
        AcknowledgementTracker.Commit(first, 110);
        var second = tracker.Begin(200, s_commitTime);
        tracker.Sent(second, 1);
        AcknowledgementTracker.Commit(second, 210);

        tracker.Acknowledged(second, 1);
        Assert.Equal(0UL, tracker.AdvanceConfirmable());

        tracker.Acknowledged(first, 1);
        Assert.Equal(210UL, tracker.AdvanceConfirmable());
    }

    [Fact]
    public void An_open_transaction_is_not_confirmed_even_when_its_events_so_far_are_acknowledged()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 10);
        var transaction = tracker.Begin(100, s_commitTime);
        tracker.Sent(transaction, 1);
        tracker.Acknowledged(transaction, 1);

        Assert.Equal(10UL, tracker.AdvanceConfirmable());
        Assert.False(tracker.IsIdle);
    }

    [Fact]
    public void Empty_transactions_are_confirmed_in_order()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20);
        var empty = tracker.Begin(100, s_commitTime);
        var busy = tracker.Begin(200, s_commitTime);
        tracker.Sent(busy, 1);
        AcknowledgementTracker.Commit(empty, 110);
        AcknowledgementTracker.Commit(busy, 210);

        Assert.Equal(110UL, tracker.AdvanceConfirmable());
        tracker.Acknowledged(busy, 1);
        Assert.Equal(210UL, tracker.AdvanceConfirmable());
    }

    [Fact]
    public async Task Reading_waits_while_too_many_events_are_in_flight_and_resumes_on_acknowledgement()
    {
        var tracker = new AcknowledgementTracker(maxInFlightEvents: 2, maxInFlightBytes: 1 << 20);
        var transaction = tracker.Begin(1, s_commitTime);
        tracker.Sent(transaction, 1);
        Assert.True(tracker.WaitForCapacityAsync(CancellationToken.None).IsCompleted);
        tracker.Sent(transaction, 1);

        var wait = tracker.WaitForCapacityAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);

        tracker.Acknowledged(transaction, 1);
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Bytes_in_flight_also_limit_reading()
    {
        var tracker = new AcknowledgementTracker(maxInFlightEvents: 1000, maxInFlightBytes: 100);
        var transaction = tracker.Begin(1, s_commitTime);
        tracker.Sent(transaction, 150);
        var wait = tracker.WaitForCapacityAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);
        tracker.Acknowledged(transaction, 150);
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, tracker.InFlightBytes);
    }

    [Fact]
    public async Task Concurrent_acknowledgements_from_another_thread_confirm_exactly_the_last_transaction()
    {
        var tracker = new AcknowledgementTracker(1_000_000, long.MaxValue);
        var sent = new System.Collections.Concurrent.BlockingCollection<TrackedTransaction>();
        var acknowledger = Task.Run(() =>
        {
            foreach (var transaction in sent.GetConsumingEnumerable())
                tracker.Acknowledged(transaction, 1);
        });
        for (ulong i = 1; i <= 10_000; i++)
        {
            var transaction = tracker.Begin(i * 10, s_commitTime);
            for (var e = 0; e < 3; e++)
            {
                tracker.Sent(transaction, 1);
                sent.Add(transaction);
            }
            AcknowledgementTracker.Commit(transaction, i * 10 + 5);
            Assert.True(tracker.AdvanceConfirmable() < i * 10 + 5 || tracker.InFlightEvents == 0);
        }
        sent.CompleteAdding();
        await acknowledger;
        Assert.Equal(100_005UL, tracker.AdvanceConfirmable());
        Assert.True(tracker.IsIdle);
    }

    private static readonly DateTimeOffset s_now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Lag_is_the_age_of_the_oldest_unacknowledged_commit_not_the_time_since_it_was_read()
    {
        var time = new ManualTime(s_now);
        var tracker = new AcknowledgementTracker(100, 1 << 20, time: time);
        var hourOld = tracker.Begin(100, s_now.AddHours(-1)); // a backlog read just now
        tracker.Sent(hourOld, 1);
        AcknowledgementTracker.Commit(hourOld, 110);
        var minuteOld = tracker.Begin(200, s_now.AddMinutes(-1));
        tracker.Sent(minuteOld, 1);
        AcknowledgementTracker.Commit(minuteOld, 210);

        Assert.Equal(TimeSpan.FromHours(1), tracker.Lag);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(5), tracker.Lag);

        tracker.Acknowledged(hourOld, 1);
        Assert.Equal(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(5), tracker.Lag);
        tracker.Acknowledged(minuteOld, 1);
        Assert.Equal(TimeSpan.Zero, tracker.Lag);
    }

    [Fact]
    public void Lag_counts_an_open_transaction_whose_events_are_all_acknowledged_and_is_never_negative()
    {
        var time = new ManualTime(s_now);
        var tracker = new AcknowledgementTracker(100, 1 << 20, time: time);
        var open = tracker.Begin(100, s_now.AddSeconds(-30)); // still being read: not delivered whole yet
        tracker.Sent(open, 1);
        tracker.Acknowledged(open, 1);
        Assert.Equal(TimeSpan.FromSeconds(30), tracker.Lag);
        AcknowledgementTracker.Commit(open, 110);
        Assert.Equal(TimeSpan.Zero, tracker.Lag);

        var ahead = tracker.Begin(200, s_now.AddSeconds(2)); // the database's clock is ahead of the relay's
        tracker.Sent(ahead, 1);
        Assert.Equal(TimeSpan.Zero, tracker.Lag);
    }

    [Fact]
    public void Stalled_for_grows_only_while_events_wait_without_any_acknowledgement()
    {
        var time = new ManualTime(s_now);
        var tracker = new AcknowledgementTracker(100, 1 << 20, time: time);
        time.Advance(TimeSpan.FromHours(1)); // idle: nothing waits, nothing is stalled
        Assert.Equal(TimeSpan.Zero, tracker.StalledFor);

        var large = tracker.Begin(100, s_now);
        for (var i = 0; i < 3; i++)
            tracker.Sent(large, 1);
        Assert.Equal(TimeSpan.Zero, tracker.StalledFor); // waiting starts now, not an hour ago
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(TimeSpan.FromSeconds(4), tracker.StalledFor);

        tracker.Acknowledged(large, 1);
        Assert.Equal(TimeSpan.Zero, tracker.StalledFor);
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), tracker.StalledFor);

        tracker.Acknowledged(large, 1);
        tracker.Acknowledged(large, 1);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.Zero, tracker.StalledFor);
    }

    [Fact]
    public void A_large_transaction_whose_acknowledgements_flow_never_stalls_however_long_it_takes()
    {
        var time = new ManualTime(s_now);
        var tracker = new AcknowledgementTracker(100, 1 << 20, time: time);
        var large = tracker.Begin(100, s_now);
        for (var second = 0; second < 120; second++)
        {
            tracker.Sent(large, 1);
            tracker.Sent(large, 1);
            time.Advance(TimeSpan.FromSeconds(1));
            tracker.Acknowledged(large, 1);
            Assert.True(tracker.StalledFor <= TimeSpan.FromSeconds(1), $"second {second}: stalled for {tracker.StalledFor}");
        }
        Assert.Equal(TimeSpan.FromMinutes(2), tracker.Lag); // still not delivered whole: the lag says how long
    }
}

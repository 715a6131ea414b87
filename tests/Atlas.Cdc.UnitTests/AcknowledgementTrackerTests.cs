using Atlas.Cdc.Tracking;

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
        Assert.Equal(10UL, tracker.AdvanceIdle(500));
    }

    [Fact]
    public void Server_position_is_confirmed_when_idle_and_never_moves_backwards()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 300);
        Assert.Equal(300UL, tracker.AdvanceIdle(200));
        Assert.Equal(900UL, tracker.AdvanceIdle(900));

        var transaction = tracker.Begin(1000, s_commitTime);
        tracker.Sent(transaction, 1);
        Assert.Equal(900UL, tracker.AdvanceIdle(2000));
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
}

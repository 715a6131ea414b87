using Atlas.Cdc.Offsets;

namespace Atlas.Cdc.UnitTests;

public class ConfirmationPolicyTests
{
    private static readonly DateTimeOffset s_commitTime = DateTimeOffset.UnixEpoch;

    private ulong _server;

    private ConfirmationPolicy Policy(AcknowledgementTracker tracker, ulong slotConfirmed) =>
        new(tracker, () => _server, slotConfirmed);

    [Fact]
    public void Idle_relay_confirms_the_server_position_including_keepalives()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 300);
        var policy = Policy(tracker, slotConfirmed: 300);

        _server = 900; // a keepalive while other tables write
        Assert.Equal(900UL, policy.Next());
        policy.MarkConfirmed(900);
        Assert.Equal(900UL, policy.Confirmed);
        Assert.Equal(900UL, policy.Acknowledged);
    }

    [Fact]
    public void Events_in_flight_keep_the_confirmation_at_what_Kafka_acknowledged()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 300);
        var policy = Policy(tracker, slotConfirmed: 300);
        var transaction = tracker.Begin(1000, s_commitTime);
        tracker.Sent(transaction, 1);
        AcknowledgementTracker.Commit(transaction, 1010);

        _server = 2000;
        Assert.Null(policy.Next());
        Assert.Equal(300UL, policy.Acknowledged);

        tracker.Acknowledged(transaction, 1);
        Assert.Equal(2000UL, policy.Next()); // fully acknowledged, so popped before the idle check: idle again
    }

    [Fact]
    public void An_open_transaction_keeps_the_relay_from_being_idle_even_with_nothing_in_flight()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 10);
        var policy = Policy(tracker, slotConfirmed: 10);
        var transaction = tracker.Begin(100, s_commitTime);
        tracker.Sent(transaction, 1);
        tracker.Acknowledged(transaction, 1); // acknowledged so far, but no COMMIT read yet

        _server = 500;
        Assert.Null(policy.Next());
        Assert.Equal(10UL, policy.Acknowledged);
    }

    [Fact]
    public void The_server_position_is_read_before_the_idle_check()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 100);
        TrackedTransaction? begun = null;
        // The server position is read, then a transaction begins (its COMMIT above that position): the read
        // value may be confirmed, the transaction's end may not.
        var policy = new ConfirmationPolicy(tracker, () =>
        {
            begun ??= tracker.Begin(700, s_commitTime);
            tracker.Sent(begun, 1);
            return 600;
        }, slotConfirmed: 100);

        Assert.Null(policy.Next());
        Assert.Equal(100UL, policy.Acknowledged);
    }

    [Fact]
    public void Never_proposes_a_position_at_or_below_the_last_confirmed()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 300);
        var policy = Policy(tracker, slotConfirmed: 300);

        _server = 200;
        Assert.Null(policy.Next());
        _server = 300;
        Assert.Null(policy.Next());
        Assert.Equal(300UL, policy.Confirmed);
    }

    [Fact]
    public void A_resume_position_above_the_slot_is_confirmed_first()
    {
        // The previous session had Kafka acknowledge up to 500 but could not confirm it: the slot says 300.
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 500);
        var policy = Policy(tracker, slotConfirmed: 300);
        var transaction = tracker.Begin(800, s_commitTime);
        tracker.Sent(transaction, 1);

        _server = 900;
        Assert.Equal(500UL, policy.Next());
    }

    [Fact]
    public void A_position_not_sent_is_proposed_again()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 300);
        var policy = Policy(tracker, slotConfirmed: 300);

        _server = 400;
        Assert.Equal(400UL, policy.Next()); // the status update failed: not marked
        Assert.Equal(300UL, policy.Confirmed);
        Assert.Equal(400UL, policy.Next());
    }

    [Fact]
    public void Acknowledged_keeps_an_idle_position_after_traffic_resumes()
    {
        var tracker = new AcknowledgementTracker(100, 1 << 20, confirmedLsn: 300);
        var policy = Policy(tracker, slotConfirmed: 300);
        _server = 900;
        Assert.Equal(900UL, policy.Next());

        var transaction = tracker.Begin(1000, s_commitTime);
        tracker.Sent(transaction, 1);
        _server = 2000;
        Assert.Equal(900UL, policy.Acknowledged);
        Assert.Equal(900UL, policy.Next() ?? 900); // not below what was seen idle, nothing newer
    }
}

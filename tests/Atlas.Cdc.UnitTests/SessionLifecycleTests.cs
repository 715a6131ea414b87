using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

public class SessionLifecycleTests
{
    [Fact]
    public void A_clean_stop_goes_through_every_phase_in_order()
    {
        var lifecycle = new SessionLifecycle();
        foreach (var phase in new[] { SessionPhase.Starting, SessionPhase.Streaming, SessionPhase.Draining, SessionPhase.Flushing, SessionPhase.Stopped })
        {
            lifecycle.MoveTo(phase);
            Assert.Equal(phase, lifecycle.Phase);
        }
        Assert.True(lifecycle.Streamed);
    }

    [Fact]
    public void Shutdown_before_the_slot_was_seen_held_drains_without_having_streamed()
    {
        var lifecycle = new SessionLifecycle();
        lifecycle.MoveTo(SessionPhase.Starting);
        lifecycle.MoveTo(SessionPhase.Draining);
        Assert.False(lifecycle.Streamed);
    }

    [Theory]
    [InlineData("Preparing", "Streaming")]
    [InlineData("Preparing", "Draining")]
    [InlineData("Streaming", "Starting")]
    [InlineData("Streaming", "Flushing")]
    [InlineData("Flushing", "Draining")]
    [InlineData("Stopped", "Failed")]
    [InlineData("Failed", "Stopped")]
    public void Moves_not_in_the_table_are_refused(string from, string to) =>
        Assert.False(SessionLifecycle.IsAllowed(Enum.Parse<SessionPhase>(from), Enum.Parse<SessionPhase>(to)));

    [Theory]
    [InlineData("Preparing")]
    [InlineData("Starting")]
    [InlineData("Streaming")]
    [InlineData("Draining")]
    [InlineData("Flushing")]
    public void Every_live_phase_can_fail_or_be_stopped(string from)
    {
        Assert.True(SessionLifecycle.IsAllowed(Enum.Parse<SessionPhase>(from), SessionPhase.Failed));
        Assert.True(SessionLifecycle.IsAllowed(Enum.Parse<SessionPhase>(from), SessionPhase.Stopped));
    }

    [Fact]
    public void A_refused_move_names_both_phases()
    {
        var lifecycle = new SessionLifecycle();
        lifecycle.MoveTo(SessionPhase.Failed);
        var error = Assert.Throws<InvalidOperationException>(() => lifecycle.MoveTo(SessionPhase.Streaming));
        Assert.Contains("Failed", error.Message);
        Assert.Contains("Streaming", error.Message);
        Assert.Equal(SessionPhase.Failed, lifecycle.Phase);
    }

    [Fact]
    public void The_reader_starts_transactions_while_streaming_and_parks_at_the_next_begin_once_draining()
    {
        var lifecycle = new SessionLifecycle();
        lifecycle.MoveTo(SessionPhase.Starting);
        lifecycle.MoveTo(SessionPhase.Streaming);

        Assert.True(lifecycle.TryBeginTransaction());
        Assert.True(lifecycle.InTransaction);
        lifecycle.MoveTo(SessionPhase.Draining);
        Assert.True(lifecycle.MayRead); // the open transaction is read to its COMMIT
        lifecycle.EndTransaction();
        Assert.False(lifecycle.InTransaction);

        Assert.False(lifecycle.TryBeginTransaction());
        Assert.False(lifecycle.InTransaction);
        lifecycle.MoveTo(SessionPhase.Flushing);
        Assert.False(lifecycle.MayRead);
    }

    [Fact]
    public void A_drain_never_misses_a_transaction_the_reader_is_starting()
    {
        // The reader at a BEGIN and the drain race: either the reader sees Draining and parks, or the drain
        // sees the reader inside a transaction. Never both missed.
        for (var round = 0; round < 2000; round++)
        {
            var lifecycle = new SessionLifecycle();
            lifecycle.MoveTo(SessionPhase.Starting);
            lifecycle.MoveTo(SessionPhase.Streaming);
            using var start = new Barrier(2);
            var began = false;
            var reader = new Thread(() =>
            {
                start.SignalAndWait();
                began = lifecycle.TryBeginTransaction();
            });
            reader.Start();
            start.SignalAndWait();
            lifecycle.MoveTo(SessionPhase.Draining);
            var drainSawTransaction = lifecycle.InTransaction;
            reader.Join();
            Assert.True(!began || drainSawTransaction,
                $"round {round}: the reader began a transaction (began={began}) that the drain did not see");
        }
    }
}

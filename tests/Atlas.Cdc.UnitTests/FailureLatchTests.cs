using Atlas.Cdc.Publishing;

namespace Atlas.Cdc.UnitTests;

public class FailureLatchTests
{
    private static PublishFailure Transient(int n) => new($"transient {n}", isFatal: false);

    [Fact]
    public void First_failure_is_kept_and_later_ones_of_the_same_kind_are_not()
    {
        var latch = new FailureLatch();
        Assert.True(latch.TrySet(Transient(1)));
        Assert.False(latch.TrySet(Transient(2)));
        Assert.Equal("transient 1", latch.Current!.Message);
    }

    [Fact]
    public void A_fatal_failure_replaces_a_transient_one_and_is_never_replaced()
    {
        var latch = new FailureLatch();
        latch.TrySet(Transient(1));
        Assert.True(latch.TrySet(new PublishFailure("halt", isFatal: true)));
        Assert.False(latch.TrySet(Transient(2)));
        Assert.False(latch.TrySet(new PublishFailure("second halt", isFatal: true)));
        Assert.Equal("halt", latch.Current!.Message);
    }

    [Fact]
    public async Task A_fatal_failure_set_while_other_threads_set_transient_ones_always_wins()
    {
        // A Halt (delivery-report thread) racing purge errors and the error callback: the relay must stop with
        // exit 3, never restart because a transient failure overwrote the fatal one.
        for (var round = 0; round < 2000; round++)
        {
            var latch = new FailureLatch();
            using var start = new Barrier(3);
            var fatal = new PublishFailure("halt", isFatal: true);
            var kept = 0;
            var threads = new[]
            {
                Task.Run(() => { start.SignalAndWait(); if (latch.TrySet(Transient(1))) Interlocked.Increment(ref kept); }),
                Task.Run(() => { start.SignalAndWait(); if (latch.TrySet(fatal)) Interlocked.Increment(ref kept); }),
                Task.Run(() => { start.SignalAndWait(); if (latch.TrySet(Transient(2))) Interlocked.Increment(ref kept); }),
            };
            await Task.WhenAll(threads);
            Assert.True(ReferenceEquals(fatal, latch.Current), $"round {round}: the latch kept '{latch.Current?.Message}', not the fatal failure");
            Assert.InRange(kept, 1, 3);
        }
    }
}

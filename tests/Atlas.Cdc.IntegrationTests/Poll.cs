using System.Diagnostics;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// How tests wait: for a condition, with a generous deadline, never for a fixed time; a failure says what was
/// last seen. A property that must hold for a while is checked throughout that while, not once after a sleep.
/// </summary>
internal static class Poll
{
    /// <summary>Polls <paramref name="condition"/> until it holds and returns how long that took; past the deadline, fails with <paramref name="seen"/>.</summary>
    public static async Task<TimeSpan> UntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> seen,
        TimeSpan? interval = null)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (stopwatch.Elapsed > timeout)
                throw new TimeoutException($"{what}: not within {Durations.Format(timeout)}; last seen: {await seen()}");
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
        return stopwatch.Elapsed;
    }

    /// <summary>Runs <paramref name="check"/> (which asserts) every <paramref name="interval"/> for <paramref name="duration"/>.</summary>
    public static async Task ThroughoutAsync(TimeSpan duration, Func<Task> check, TimeSpan? interval = null)
    {
        var stopwatch = Stopwatch.StartNew();
        do
        {
            await check();
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(250));
        }
        while (stopwatch.Elapsed < duration);
        await check();
    }
}

using System.Diagnostics;

namespace Atlas.Cdc.Benchmarks;

/// <summary>Progress lines on stderr, so stdout carries only the results table.</summary>
internal static class Progress
{
    private static readonly Stopwatch s_clock = Stopwatch.StartNew();

    public static TimeSpan Elapsed => s_clock.Elapsed;

    public static void Write(string message) => Console.Error.WriteLine($"[{s_clock.Elapsed.TotalSeconds,6:0.0}s] {message}");
}

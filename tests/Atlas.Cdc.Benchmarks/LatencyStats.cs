namespace Atlas.Cdc.Benchmarks;

/// <summary>Latencies in milliseconds: count and nearest-rank percentiles.</summary>
internal sealed record LatencyStats(int Count, double P50, double P90, double P99, double Max, double Mean)
{
    public static LatencyStats From(IReadOnlyCollection<double> milliseconds)
    {
        if (milliseconds.Count == 0)
            return new LatencyStats(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var sorted = milliseconds.Order().ToArray();
        return new LatencyStats(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 99), sorted[^1], sorted.Average());
    }

    private static double Percentile(double[] sorted, double percent)
    {
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

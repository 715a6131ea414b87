using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>One histogram read from a Prometheus text page, with <c>histogram_quantile</c>'s linear interpolation.</summary>
internal sealed class PrometheusHistogram
{
    private readonly List<(double UpperBound, double Count)> _buckets;

    private PrometheusHistogram(List<(double, double)> buckets) => _buckets = buckets;

    public double Count => _buckets.Count == 0 ? 0 : _buckets[^1].Count;

    /// <summary>The cumulative buckets of <paramref name="name"/> (summed over label sets), or null when absent.</summary>
    public static PrometheusHistogram? Parse(string text, string name)
    {
        var buckets = new SortedDictionary<double, double>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "_bucket{", StringComparison.Ordinal))
                continue;
            var le = line.IndexOf("le=\"", StringComparison.Ordinal);
            if (le < 0)
                continue;
            var end = line.IndexOf('"', le + 4);
            var bound = line[(le + 4)..end] == "+Inf" ? double.PositiveInfinity : double.Parse(line[(le + 4)..end], CultureInfo.InvariantCulture);
            var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            buckets[bound] = buckets.GetValueOrDefault(bound) + value;
        }
        return buckets.Count == 0 ? null : new PrometheusHistogram(buckets.Select(b => (b.Key, b.Value)).ToList());
    }

    /// <summary>The observations made since <paramref name="earlier"/> was read (the same histogram, cumulative counts).</summary>
    public PrometheusHistogram Minus(PrometheusHistogram? earlier)
    {
        if (earlier is null)
            return this;
        var before = earlier._buckets.ToDictionary(b => b.UpperBound, b => b.Count);
        return new PrometheusHistogram(_buckets.Select(b => (b.UpperBound, b.Count - before.GetValueOrDefault(b.UpperBound))).ToList());
    }

    /// <summary>Like PromQL's histogram_quantile: linear within the bucket that holds the rank.</summary>
    public double Quantile(double q)
    {
        var rank = q * Count;
        double lowerBound = 0, lowerCount = 0;
        foreach (var (upper, count) in _buckets)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(upper))
                    return lowerBound;
                return lowerBound + (upper - lowerBound) * ((rank - lowerCount) / Math.Max(count - lowerCount, 1e-9));
            }
            (lowerBound, lowerCount) = (upper, count);
        }
        return double.NaN;
    }

    /// <summary>Share of observations at or below <paramref name="bound"/> (an exact bucket boundary).</summary>
    public double ShareAtOrBelow(double bound) =>
        _buckets.Where(b => b.UpperBound <= bound).Select(b => b.Count).DefaultIfEmpty(0).Max() / Math.Max(Count, 1);
}

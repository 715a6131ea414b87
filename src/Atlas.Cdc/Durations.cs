using System.Globalization;

namespace Atlas.Cdc;

/// <summary>
/// Durations as people write them in logs and messages (<c>500 ms</c>, <c>10 s</c>, <c>2 min</c>, <c>1 h 30 min</c>),
/// instead of TimeSpan's <c>00:00:00.5000000</c>; and as a setting is written (<c>00:00:00.500</c>) in examples.
/// </summary>
public static class Durations
{
    /// <summary>
    /// <c>0 s</c>, <c>250 ms</c>, <c>1.5 s</c>, <c>10 s</c>, <c>2 min</c>, <c>1 min 30 s</c>, <c>1 h 30 min</c>,
    /// <c>1 d</c>: the largest units first, zero parts left out, milliseconds only below a second (whole ones from
    /// 10 ms up), seconds to the millisecond.
    /// </summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
            return "-" + Format(duration.Duration());
        if (duration == TimeSpan.Zero)
            return "0 s";
        if (duration.TotalMilliseconds < 10)
            return Number(duration.TotalMilliseconds, 2) + " ms";
        // Whole milliseconds from here on, so that 999.6 ms is 1 s and 59.9996 s is 1 min, not 60 s.
        var milliseconds = Math.Round(duration.TotalMilliseconds, MidpointRounding.AwayFromZero);
        if (milliseconds < 1000)
            return Number(milliseconds, 0) + " ms";

        duration = TimeSpan.FromMilliseconds(milliseconds);
        var parts = new List<string>(4);
        if (duration.Days > 0)
            parts.Add(duration.Days.ToString(CultureInfo.InvariantCulture) + " d");
        if (duration.Hours > 0)
            parts.Add(duration.Hours.ToString(CultureInfo.InvariantCulture) + " h");
        if (duration.Minutes > 0)
            parts.Add(duration.Minutes.ToString(CultureInfo.InvariantCulture) + " min");
        var seconds = duration.Seconds + duration.Milliseconds / 1000.0;
        if (seconds > 0)
            parts.Add(Number(seconds, 3) + " s");
        return string.Join(' ', parts);
    }

    /// <summary>As a setting takes it: <c>[d.]hh:mm:ss[.fff]</c>, e.g. <c>00:00:00.500</c>, <c>1.00:00:00</c>.</summary>
    public static string FormatSetting(TimeSpan duration)
    {
        var text = duration.ToString(duration.Days != 0 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", CultureInfo.InvariantCulture);
        if (duration.Ticks % TimeSpan.TicksPerSecond != 0)
            text += "." + duration.ToString("fffffff", CultureInfo.InvariantCulture).TrimEnd('0').PadRight(3, '0');
        return duration < TimeSpan.Zero ? "-" + text : text;
    }

    private static string Number(double value, int decimals) =>
        Math.Round(value, decimals).ToString("0.###", CultureInfo.InvariantCulture);
}

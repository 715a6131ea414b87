using System.Globalization;

namespace Atlas.Cdc.Tracking;

/// <summary>Header values derived from a transaction's commit, formatted straight to UTF-8.</summary>
internal static class HeaderValues
{
    /// <summary>The format of <c>atlas.commit_time</c>: RFC 3339 in UTC with microseconds.</summary>
    public const string CommitTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    /// <summary>The LSN as PostgreSQL prints it (<c>0/16B3748</c>).</summary>
    public static byte[] CommitLsn(ulong lsn)
    {
        Span<byte> buffer = stackalloc byte[17];
        ((uint)(lsn >> 32)).TryFormat(buffer, out var high, "X", CultureInfo.InvariantCulture);
        buffer[high] = (byte)'/';
        ((uint)lsn).TryFormat(buffer[(high + 1)..], out var low, "X", CultureInfo.InvariantCulture);
        return buffer[..(high + 1 + low)].ToArray();
    }

    /// <summary>The commit time in <see cref="CommitTimeFormat"/>.</summary>
    public static byte[] CommitTime(DateTimeOffset commitTime)
    {
        Span<byte> buffer = stackalloc byte[32];
        commitTime.UtcDateTime.TryFormat(buffer, out var written, CommitTimeFormat, CultureInfo.InvariantCulture);
        return buffer[..written].ToArray();
    }
}

namespace Atlas.Cdc.Offsets;

/// <summary>
/// Header values derived from a transaction's commit, written straight to UTF-8 by hand: in a catch-up of
/// single-row transactions they are built once per event, and the general-purpose formatters (custom date format,
/// "X") were ~2 % of the relay's CPU (docs/benchmarks.md, second round).
/// </summary>
internal static class HeaderValues
{
    /// <summary>The format of <c>atlas.commit_time</c>: RFC 3339 in UTC with microseconds (what this class writes).</summary>
    public const string CommitTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    /// <summary>The LSN as PostgreSQL prints it (<c>0/16B3748</c>): upper-case hex halves without leading zeros.</summary>
    public static byte[] CommitLsn(ulong lsn)
    {
        Span<byte> buffer = stackalloc byte[17];
        var length = WriteHex(buffer, (uint)(lsn >> 32));
        buffer[length++] = (byte)'/';
        length += WriteHex(buffer[length..], (uint)lsn);
        return buffer[..length].ToArray();
    }

    /// <summary>The commit time in <see cref="CommitTimeFormat"/> (fraction truncated to microseconds, as "ffffff" does).</summary>
    public static byte[] CommitTime(DateTimeOffset commitTime)
    {
        var utc = commitTime.UtcDateTime;
        var value = new byte[27];
        var span = value.AsSpan();
        WriteDigits(span[..4], utc.Year);
        span[4] = (byte)'-';
        WriteDigits(span.Slice(5, 2), utc.Month);
        span[7] = (byte)'-';
        WriteDigits(span.Slice(8, 2), utc.Day);
        span[10] = (byte)'T';
        WriteDigits(span.Slice(11, 2), utc.Hour);
        span[13] = (byte)':';
        WriteDigits(span.Slice(14, 2), utc.Minute);
        span[16] = (byte)':';
        WriteDigits(span.Slice(17, 2), utc.Second);
        span[19] = (byte)'.';
        WriteDigits(span.Slice(20, 6), (int)(utc.Ticks % TimeSpan.TicksPerSecond / 10));
        span[26] = (byte)'Z';
        return value;
    }

    private static void WriteDigits(Span<byte> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + value % 10);
            value /= 10;
        }
    }

    private static int WriteHex(Span<byte> destination, uint value)
    {
        var digits = value == 0 ? 1 : (35 - (int)uint.LeadingZeroCount(value)) / 4;
        for (var i = digits - 1; i >= 0; i--)
        {
            destination[i] = (byte)"0123456789ABCDEF"[(int)(value & 0xF)];
            value >>= 4;
        }
        return digits;
    }
}

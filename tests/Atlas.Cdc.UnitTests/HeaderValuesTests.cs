using System.Globalization;
using System.Text;
using Atlas.Cdc.Offsets;

namespace Atlas.Cdc.UnitTests;

/// <summary>The hand-written header formatters against .NET's own formatting of the same values.</summary>
public sealed class HeaderValuesTests
{
    [Fact]
    public void Commit_time_matches_the_documented_format_for_every_kind_of_value()
    {
        var random = new Random(20261202);
        var times = new List<DateTimeOffset>
        {
            DateTimeOffset.MinValue, DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch,
            new DateTimeOffset(2026, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_999),
            new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(-7)).AddTicks(123_456_7), // offset converted to UTC
            new DateTimeOffset(999, 1, 1, 0, 0, 0, TimeSpan.Zero), // the year keeps four digits
        };
        for (var i = 0; i < 10_000; i++)
            times.Add(new DateTimeOffset(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), TimeSpan.Zero));

        foreach (var time in times)
        {
            var expected = time.UtcDateTime.ToString(HeaderValues.CommitTimeFormat, CultureInfo.InvariantCulture);
            Assert.Equal(expected, Encoding.UTF8.GetString(HeaderValues.CommitTime(time)));
        }
    }

    [Fact]
    public void Commit_lsn_matches_postgresql_for_every_digit_count()
    {
        var random = new Random(20261202);
        var lsns = new List<ulong> { 0, 1, 0xF, 0x10, uint.MaxValue, (ulong)uint.MaxValue + 1, ulong.MaxValue };
        for (var shift = 0; shift < 64; shift++)
            lsns.Add(1UL << shift);
        for (var i = 0; i < 10_000; i++)
            lsns.Add((ulong)random.NextInt64() >> random.Next(64));

        foreach (var lsn in lsns)
            Assert.Equal(new NpgsqlTypes.NpgsqlLogSequenceNumber(lsn).ToString(), Encoding.UTF8.GetString(HeaderValues.CommitLsn(lsn)));
    }
}

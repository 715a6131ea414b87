namespace Atlas.Cdc.UnitTests;

public class DurationsTests
{
    [Theory]
    [InlineData(0, "0 s")]
    [InlineData(0.25, "0.25 ms")]
    [InlineData(1, "1 ms")]
    [InlineData(500, "500 ms")]
    [InlineData(2.5, "2.5 ms")]
    [InlineData(727.472, "727 ms")]
    [InlineData(999.5, "1 s")]
    [InlineData(1_233.4, "1.233 s")]
    [InlineData(1_000, "1 s")]
    [InlineData(1_500, "1.5 s")]
    [InlineData(10_000, "10 s")]
    [InlineData(59_999, "59.999 s")]
    [InlineData(60_000, "1 min")]
    [InlineData(90_000, "1 min 30 s")]
    [InlineData(120_000, "2 min")]
    [InlineData(3_600_000, "1 h")]
    [InlineData(5_400_000, "1 h 30 min")]
    [InlineData(86_400_000, "1 d")]
    [InlineData(90_061_500, "1 d 1 h 1 min 1.5 s")]
    [InlineData(-5_000, "-5 s")]
    public void Formats_durations_as_people_write_them(double milliseconds, string expected) =>
        Assert.Equal(expected, Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData(500, "00:00:00.500")]
    [InlineData(1_250, "00:00:01.250")]
    [InlineData(5_000, "00:00:05")]
    [InlineData(1_800_000, "00:30:00")]
    [InlineData(86_400_000, "1.00:00:00")]
    [InlineData(-2_000, "-00:00:02")]
    public void Formats_durations_as_a_setting_takes_them(double milliseconds, string expected)
    {
        var duration = TimeSpan.FromMilliseconds(milliseconds);
        var text = Durations.FormatSetting(duration);
        Assert.Equal(expected, text);
        Assert.Equal(duration, TimeSpan.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
    }
}

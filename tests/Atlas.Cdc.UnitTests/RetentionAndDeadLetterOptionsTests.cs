using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

public class RetentionAndDeadLetterOptionsTests
{
    private static CdcOptions Valid() => new()
    {
        Postgres = { ConnectionString = "Host=db;Database=app;Username=atlas_cdc_relay" },
        Kafka = { BootstrapServers = "kafka:9092" },
    };

    [Fact]
    public void Dead_letters_by_default_to_a_topic_whose_name_says_dlq()
    {
        var options = new CdcOptions();
        Assert.Equal(DeadLetterPolicy.DeadLetter, options.DeadLetter.Policy);
        Assert.Contains("dlq", options.DeadLetter.Topic, StringComparison.Ordinal);
    }

    [Fact]
    public void Retention_is_on_by_default_keeping_delivered_rows_a_day()
    {
        var retention = new CdcOptions().Retention;
        Assert.True(retention.Enabled);
        Assert.Equal(TimeSpan.FromHours(24), retention.Age);
        Assert.Equal(1000, retention.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(30), retention.Interval);
    }

    [Fact]
    public void Zero_retention_age_is_valid_and_deletes_as_soon_as_confirmed()
    {
        var options = Valid();
        options.Retention.Age = TimeSpan.Zero;
        Assert.Empty(RelaySettings.Validate(options));
    }

    [Theory]
    [InlineData(0, "00:00:30", "00:01:00", "Cdc__Retention__BatchSize")]
    [InlineData(100_001, "00:00:30", "00:01:00", "Cdc__Retention__BatchSize")]
    [InlineData(100, "00:00:00", "00:01:00", "Cdc__Retention__Interval")]
    [InlineData(100, "00:00:30", "-00:01:00", "Cdc__Retention__Age")]
    public void Invalid_retention_settings_are_named(int batchSize, string interval, string age, string variable)
    {
        var options = Valid();
        options.Retention.BatchSize = batchSize;
        options.Retention.Interval = TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture);
        options.Retention.Age = TimeSpan.Parse(age, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(RelaySettings.Validate(options), e => e.Contains(variable, StringComparison.Ordinal));
    }
}

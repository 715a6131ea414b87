using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

public class CdcOptionsValidatorTests
{
    private static CdcOptions Valid() => new()
    {
        Postgres = { ConnectionString = "Host=db;Database=app;Username=atlas_cdc_relay;Password=s3cret-value" },
        Kafka = { BootstrapServers = "kafka:9092" },
    };

    [Fact]
    public void Defaults_with_connection_settings_are_valid() => Assert.Empty(RelaySettings.Validate(Valid()));

    [Fact]
    public void Missing_connection_settings_are_named_with_their_environment_variables()
    {
        var errors = RelaySettings.Validate(new CdcOptions());
        Assert.Contains(errors, e => e.Contains("Cdc__Postgres__ConnectionString"));
        Assert.Contains(errors, e => e.Contains("Cdc__Kafka__BootstrapServers"));
    }

    [Theory]
    [InlineData("acks")]
    [InlineData("enable.idempotence")]
    [InlineData("message.timeout.ms")]
    [InlineData("delivery.timeout.ms")]
    public void Properties_that_would_weaken_delivery_are_refused(string property)
    {
        var options = Valid();
        options.Kafka.Properties[property] = "1";
        Assert.Contains(RelaySettings.Validate(options), e => e.Contains($"Cdc__Kafka__Properties__{property}"));
    }

    [Fact]
    public void Invalid_slot_table_and_template_are_each_reported()
    {
        var options = Valid();
        options.Slot = "Atlas-CDC";
        options.Table = "a.b.c";
        options.TopicTemplate = "events/{aggregate_type}";
        var errors = RelaySettings.Validate(options);
        Assert.Contains(errors, e => e.Contains("Cdc__Slot"));
        Assert.Contains(errors, e => e.Contains("Cdc__Table"));
        Assert.Contains(errors, e => e.Contains("Cdc__TopicTemplate"));
    }

    [Fact]
    public void A_malformed_connection_string_is_reported_without_its_password()
    {
        var options = Valid();
        options.Postgres.ConnectionString = "Host=db;Password=s3cret-value;NoSuchKeyword=1";
        var errors = RelaySettings.Validate(options);
        var error = Assert.Single(errors);
        Assert.Contains("Cdc__Postgres__ConnectionString", error);
        Assert.DoesNotContain("s3cret-value", error);
    }
}

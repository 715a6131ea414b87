using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

public class SchemaOptionsValidatorTests
{
    private static CdcOptions Valid(Action<CdcOptions>? change = null)
    {
        var options = new CdcOptions
        {
            Postgres = { ConnectionString = "Host=db;Database=app;Username=atlas_cdc_relay;Password=pw" },
            Kafka = { BootstrapServers = "kafka:9092" },
        };
        change?.Invoke(options);
        return options;
    }

    [Fact]
    public void Avro_with_a_registry_url_and_binary_cloud_events_is_valid() =>
        Assert.Empty(RelaySettings.Validate(Valid(o =>
        {
            o.Value.Format = ValueFormat.Avro;
            o.SchemaRegistry.Url = "http://registry:8081";
            o.SchemaRegistry.Subject = "{topic}-{event_type}";
            o.SchemaRegistry.Properties["basic.auth.user.info"] = "user:pass";
            o.SchemaRegistry.Properties["schema.registry.basic.auth.credentials.source"] = "USER_INFO";
            o.CloudEvents.Mode = CloudEventsMode.Binary;
        })));

    [Theory]
    [InlineData(ValueFormat.Avro)]
    [InlineData(ValueFormat.JsonSchema)]
    public void Schema_formats_need_a_registry_url(ValueFormat format)
    {
        var error = Assert.Single(RelaySettings.Validate(Valid(o => o.Value.Format = format)));
        Assert.Contains("Cdc__SchemaRegistry__Url", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Structured_cloud_events_only_with_json()
    {
        var error = Assert.Single(RelaySettings.Validate(Valid(o =>
        {
            o.Value.Format = ValueFormat.Avro;
            o.SchemaRegistry.Url = "http://registry:8081";
            o.CloudEvents.Mode = CloudEventsMode.Structured;
        })));
        Assert.Contains("Cdc__CloudEvents__Mode", error, StringComparison.Ordinal);
        Assert.Empty(RelaySettings.Validate(Valid(o => o.CloudEvents.Mode = CloudEventsMode.Structured)));
    }

    [Fact]
    public void Bad_settings_are_named_and_secrets_are_not_echoed()
    {
        var errors = RelaySettings.Validate(Valid(o =>
        {
            o.Value.Format = ValueFormat.Avro;
            o.SchemaRegistry.Url = "ftp://user:hunter2@registry";
            o.SchemaRegistry.Subject = "{topic}-{nope}";
            o.SchemaRegistry.SchemasPath = "/no/such/folder";
            o.SchemaRegistry.RefreshInterval = TimeSpan.Zero;
            o.SchemaRegistry.Properties["bogus.setting"] = "x";
            o.SchemaRegistry.Properties["basic.auth.user.info"] = "user:hunter2";
        }));
        foreach (var name in new[] { "Cdc__SchemaRegistry__Url", "Cdc__SchemaRegistry__Subject", "Cdc__SchemaRegistry__SchemasPath",
                     "Cdc__SchemaRegistry__RefreshInterval", "Cdc__SchemaRegistry__Properties" })
            Assert.Contains(errors, e => e.Contains(name, StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("hunter2", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("schema.registry.bogus.setting", StringComparison.Ordinal));
    }
}

using System.Reflection;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;
using Microsoft.Extensions.Configuration;

namespace Atlas.Cdc.UnitTests;

public class CdcOptionsBinderTests
{
    /// <summary>Every setting whose type a text value can fail to parse as, found by walking CdcOptions here, not by the binder.</summary>
    public static TheoryData<string> TypedSettings()
    {
        var data = new TheoryData<string>();
        foreach (var path in Leaves(typeof(CdcOptions), "Cdc"))
            data.Add(path);
        return data;
    }

    [Theory]
    [MemberData(nameof(TypedSettings))]
    public void An_unparseable_value_of_any_setting_is_one_error_naming_the_setting_its_variable_the_value_and_what_is_accepted(string path)
    {
        var configuration = Configuration((path, "banana"));
        // What the relay did before: the configuration binder throws, and the process dies with a stack trace.
        Assert.Throws<InvalidOperationException>(() => configuration.GetSection("Cdc").Get<CdcOptions>());

        var errors = CdcOptionsBinder.Bind(configuration, out var options);

        var error = Assert.Single(errors);
        Assert.StartsWith($"{path} (env {path.Replace(":", "__", StringComparison.Ordinal)}) 'banana' is not ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.Matches(@"is not (a duration: use \[d\.\]hh:mm:ss\[\.fff\], such as [0-9.:]+|true or false|a whole number such as \d+|one of \w+(, \w+)+)", error);
        Assert.Equal("kafka:9092", options.Kafka.BootstrapServers); // the other settings are still bound
    }

    [Theory]
    [InlineData("Cdc:ConfirmInterval", "banana", "Cdc:ConfirmInterval (env Cdc__ConfirmInterval) 'banana' is not a duration: use [d.]hh:mm:ss[.fff], such as 00:00:00.500.")]
    [InlineData("Cdc:ConfirmInterval", "500", "Cdc:ConfirmInterval (env Cdc__ConfirmInterval) '500' is not a duration: use [d.]hh:mm:ss[.fff], such as 00:00:00.500.")]
    [InlineData("Cdc:MaxInFlightEvents", "lots", "Cdc:MaxInFlightEvents (env Cdc__MaxInFlightEvents) 'lots' is not a whole number such as 50000 (digits only, at most 2147483647).")]
    [InlineData("Cdc:MaxInFlightEvents", "99999999999", "Cdc:MaxInFlightEvents (env Cdc__MaxInFlightEvents) '99999999999' is not a whole number such as 50000 (digits only, at most 2147483647).")]
    [InlineData("Cdc:Retention:Enabled", "maybe", "Cdc:Retention:Enabled (env Cdc__Retention__Enabled) 'maybe' is not true or false.")]
    [InlineData("Cdc:Retention:Age", "1d", "Cdc:Retention:Age (env Cdc__Retention__Age) '1d' is not a duration: use [d.]hh:mm:ss[.fff], such as 1.00:00:00.")]
    [InlineData("Cdc:DeadLetter:Policy", "Stop", "Cdc:DeadLetter:Policy (env Cdc__DeadLetter__Policy) 'Stop' is not one of DeadLetter, Halt.")]
    [InlineData("Cdc:DeadLetter:Policy", "1", "Cdc:DeadLetter:Policy (env Cdc__DeadLetter__Policy) '1' is not one of DeadLetter, Halt.")]
    public void The_values_a_new_user_tried_are_each_explained(string path, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(CdcOptionsBinder.Bind(Configuration((path, value)), out _)));

    [Fact]
    public void Several_bad_values_are_each_reported_and_good_ones_bound()
    {
        var errors = CdcOptionsBinder.Bind(Configuration(
            ("Cdc:ConfirmInterval", "banana"),
            ("Cdc:Retention:Enabled", "maybe"),
            ("Cdc:StandbyRetryInterval", "00:00:07"),
            ("Cdc:DeadLetter:Policy", "halt"),
            ("Cdc:MaxInFlightBytes", " 2048 ")), out var options);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Cdc:ConfirmInterval ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Cdc:Retention:Enabled ", StringComparison.Ordinal));
        Assert.Equal(TimeSpan.FromSeconds(7), options.StandbyRetryInterval);
        Assert.Equal(DeadLetterPolicy.Halt, options.DeadLetter.Policy);
        Assert.Equal(2048, options.MaxInFlightBytes);
        Assert.Equal(new CdcOptions().ConfirmInterval, options.ConfirmInterval);
    }

    [Theory]
    [InlineData("Cdc:Outboxes:billing:ValueFormt", "Avro", "the settings under Cdc:Outboxes:billing are AdditionalHeaders, Columns, DeadLetterTopic, Preset, Retention, Subject, Table, TopicTemplate, ValueFormat")]
    [InlineData("Cdc:Outboxes:billing:Columns:AggregateKey", "order_id", "the settings under Cdc:Outboxes:billing:Columns are AggregateId, AggregateType, CreatedAt, EventType, Headers, Id, Payload")]
    [InlineData("Cdc:Retention:MaxAge", "01:00:00", "the settings under Cdc:Retention are Age, BatchSize, Enabled, Interval")]
    [InlineData("Cdc:StartupTimeout", "00:00:20", "the settings under Cdc are ")]
    [InlineData("Cdc:Kafka:Propertie:linger.ms", "5", "docs/operations.md lists every setting")]
    public void A_value_no_setting_reads_is_an_error_naming_it_and_the_settings_at_its_place(string path, string value, string expected)
    {
        var error = Assert.Single(CdcOptionsBinder.Bind(Configuration(("Cdc:Outboxes:billing:Table", "billing.outbox"), (path, value)), out _));
        Assert.StartsWith($"{path} (env {path.Replace(":", "__", StringComparison.Ordinal)}) is not a setting of the relay, so it would be ignored: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_setting_and_the_keys_of_every_map_are_known_in_any_case()
    {
        var values = Leaves(typeof(CdcOptions), "Cdc", includeText: true)
            .Where(path => !path.StartsWith("Cdc:Outboxes", StringComparison.Ordinal) && !path.EndsWith(":Properties", StringComparison.Ordinal))
            .Select(path => (path.ToUpperInvariant().Replace("CDC:", "Cdc:", StringComparison.Ordinal), "x"))
            .Concat([("Cdc:Kafka:Properties:sasl.username", "u"), ("Cdc:SchemaRegistry:Properties:basic.auth.user.info", "u:p"),
                     ("Cdc:Outboxes:billing:Table", "billing.outbox"), ("Cdc:Outboxes:billing:Columns:Id", "event_id"),
                     ("Cdc:Outboxes:billing:AdditionalHeaders:tenant_id", "tenant")])
            .ToArray();

        var errors = CdcOptionsBinder.Bind(Configuration(values), out _);

        Assert.DoesNotContain(errors, e => e.Contains("is not a setting", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_setting_is_walked_including_nested_sections_and_the_producer_properties()
    {
        var paths = CdcOptionsBinder.Settings().Select(s => s.Path).ToList();
        Assert.Equal(Leaves(typeof(CdcOptions), "Cdc", includeText: true).Order(), paths.Order());
        Assert.Contains("Cdc:Kafka:Properties", paths);
    }

    [Fact]
    public async Task The_relay_exits_2_before_connecting_when_a_value_does_not_parse()
    {
        var exitCode = await RelayHost.RunAsync([], new Dictionary<string, string?>
        {
            ["Cdc:Postgres:ConnectionString"] = "Host=db;Database=app;Username=atlas_cdc_relay",
            ["Cdc:Kafka:BootstrapServers"] = "kafka:9092",
            ["Cdc:Retention:Enabled"] = "maybe",
        });
        Assert.Equal(2, exitCode);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Cdc:Kafka:BootstrapServers"] = "kafka:9092" })
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    /// <summary>Cdc:Section:Setting for every bindable property; text settings and maps only when asked (any text parses).</summary>
    private static IEnumerable<string> Leaves(Type type, string prefix, bool includeText = false)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var path = $"{prefix}:{property.Name}";
            var propertyType = property.PropertyType;
            var isMap = propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>);
            if (!isMap && propertyType.IsClass && propertyType != typeof(string))
            {
                foreach (var nested in Leaves(propertyType, path, includeText))
                    yield return nested;
            }
            else if (includeText || (!isMap && propertyType != typeof(string)))
                yield return path;
        }
    }
}

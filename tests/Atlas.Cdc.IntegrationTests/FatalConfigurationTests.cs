using System.Diagnostics;
using Atlas.Cdc.Sandbox;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Misconfiguration no retry can fix ends the relay with exit code 2 within 30 s and one error that names the
/// problem: no hang, no silent retry loop.
/// </summary>
[Collection(CdcCollection.Name)]
public class FatalConfigurationTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private static readonly TimeSpan s_exitLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Wal_level_not_logical_exits_naming_wal_level()
    {
        await using var postgres = await TemporaryPostgres.StartAsync(new TemporaryPostgresOptions
        {
            ExtraSettings = { ["wal_level"] = "replica" },
        });
        await using var scenario = await environment.CreateScenarioAsync("walreplica");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = postgres.ConnectionStringFor("atlas_cdc_relay"),
        });
        Assert.Contains("wal_level is 'replica'", fatal, StringComparison.Ordinal);
        Assert.Contains("wal_level = logical", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_outbox_table_exits_naming_the_table_and_the_setting()
    {
        await using var scenario = await environment.CreateScenarioAsync("notable");
        await scenario.ScalarAsync<int>("DROP TABLE public.outbox CASCADE; SELECT 1"); // CASCADE: the retention view
        var fatal = await RunUntilExitAsync(scenario);
        Assert.Contains($"Outbox table public.outbox (Cdc:Table) does not exist in database '{scenario.Database}'", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_publication_exits_naming_the_publication_and_how_to_create_it()
    {
        await using var scenario = await environment.CreateScenarioAsync("nopub");
        await scenario.ScalarAsync<int>("DROP PUBLICATION atlas_cdc_outbox; SELECT 1");
        var fatal = await RunUntilExitAsync(scenario);
        Assert.Contains("Publication 'atlas_cdc_outbox' (Cdc:Publication) does not exist", fatal, StringComparison.Ordinal);
        Assert.Contains("CREATE PUBLICATION atlas_cdc_outbox FOR TABLE public.outbox", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publication_that_does_not_publish_inserts_exits_naming_it_and_the_fix()
    {
        await using var scenario = await environment.CreateScenarioAsync("pubnoinsert");
        await scenario.ScalarAsync<int>("ALTER PUBLICATION atlas_cdc_outbox SET (publish = 'update, delete'); SELECT 1");
        var fatal = await RunUntilExitAsync(scenario);
        Assert.Contains("Publication 'atlas_cdc_outbox' (Cdc:Publication) does not publish inserts", fatal, StringComparison.Ordinal);
        Assert.Contains("ALTER PUBLICATION atlas_cdc_outbox SET (publish = 'insert');", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publication_without_the_outbox_table_exits_naming_both_and_the_fix()
    {
        await using var scenario = await environment.CreateScenarioAsync("pubnotable");
        await scenario.ScalarAsync<int>("CREATE TABLE public.other (id int); CREATE PUBLICATION other_only FOR TABLE public.other; SELECT 1");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string> { ["Cdc__Publication"] = "other_only" });
        Assert.Contains("Publication 'other_only' (Cdc:Publication) does not include the outbox table public.outbox (Cdc:Table)", fatal, StringComparison.Ordinal);
        Assert.Contains("ALTER PUBLICATION other_only ADD TABLE public.outbox;", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slot_of_another_database_exits_naming_the_slot_and_both_databases()
    {
        await using var scenario = await environment.CreateScenarioAsync("slototherdb");
        // Same slot name, pgoutput, but created in database postgres: streaming it would decode another database.
        await environment.Postgres.ExecuteAsync($"SELECT pg_create_logical_replication_slot('{scenario.Slot}', 'pgoutput')");
        var fatal = await RunUntilExitAsync(scenario);
        Assert.Contains($"Replication slot '{scenario.Slot}' (Cdc:Slot) belongs to database 'postgres', but the relay connects to '{scenario.Database}'",
            fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_role_exits_naming_the_role()
    {
        await using var scenario = await environment.CreateScenarioAsync("norole");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = environment.Postgres.ConnectionStringFor("no_such_relay_role", database: scenario.Database),
        });
        Assert.Contains("role \"no_such_relay_role\" does not exist", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_password_authentication_exits_naming_the_user_and_the_setting()
    {
        await using var scenario = await environment.CreateScenarioAsync("badpassword");
        var role = "relay_pw_" + scenario.Database;
        await PasswordAuthentication.CreateRoleAsync(environment.Postgres, role, "the-right-one", "GRANT atlas_cdc_relay TO " + role);
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = environment.Postgres.ConnectionStringFor(role, "Wr0ngPassw0rd!", scenario.Database),
        });
        Assert.Contains($"PostgreSQL authentication failed for Host=127.0.0.1;Port={environment.Postgres.Port};Database={scenario.Database};Username={role}", fatal, StringComparison.Ordinal);
        Assert.Contains("Cdc:Postgres:ConnectionString", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Role_without_replication_exits_naming_the_missing_attribute()
    {
        await using var scenario = await environment.CreateScenarioAsync("norepl");
        var role = "relay_norepl_" + scenario.Database;
        await environment.Postgres.ExecuteAsync($"CREATE ROLE {role} LOGIN; GRANT atlas_cdc_relay TO {role}");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = environment.Postgres.ConnectionStringFor(role, database: scenario.Database),
        });
        Assert.Contains("REPLICATION", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slot_created_with_another_plugin_exits_naming_the_slot_and_the_plugin()
    {
        await using var scenario = await environment.CreateScenarioAsync("otherplugin");
        await scenario.ScalarAsync<string>($"SELECT slot_name::text FROM pg_create_logical_replication_slot('{scenario.Slot}', 'test_decoding')");
        var fatal = await RunUntilExitAsync(scenario);
        Assert.Contains($"Replication slot '{scenario.Slot}' (Cdc:Slot) is a logical slot with plugin 'test_decoding'", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_kafka_producer_property_exits_naming_the_property()
    {
        await using var scenario = await environment.CreateScenarioAsync("badkafkaprop");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Kafka__Properties__compression.type"] = "zip",
        });
        Assert.Contains("compression.type", fatal, StringComparison.Ordinal);
        Assert.Contains("Cdc:Kafka:Properties", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fatal_error_found_once_an_unreachable_postgres_comes_back_exits_with_one_message_and_no_stack_trace()
    {
        await using var scenario = await environment.CreateScenarioAsync("fatalpgdown");
        await scenario.ScalarAsync<int>("DROP PUBLICATION atlas_cdc_outbox; SELECT 1");
        RelayProcess relay;
        await environment.Postgres.StopAsync();
        try
        {
            // Kafka is reachable; PostgreSQL refuses connections: retried with backoff, never fatal, while the slot
            // monitor fails every 50 ms.
            relay = scenario.StartRelay(new Dictionary<string, string> { ["Cdc__Postgres__SlotStatsInterval"] = "00:00:00.050" });
            var stopwatch = Stopwatch.StartNew();
            while (relay.Output.Split("Reconnecting").Length <= 2)
            {
                Assert.False(relay.HasExited, $"connection refused must not be fatal:\n{relay.Output}");
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"the relay did not retry twice within 20 s:\n{relay.Output}");
                await Task.Delay(100);
            }
        }
        finally
        {
            await environment.Postgres.StartAgainAsync();
        }

        // Reachable again: the start-up checks find the missing publication, a fatal error on the PostgreSQL side.
        var exitCode = await relay.WaitForExitAsync(s_exitLimit);
        var lines = relay.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(exitCode == 2, $"exit code {exitCode}, not 2:\n{relay.Output}");
        var fatal = Assert.Single(lines, line => line.Contains("Fatal:", StringComparison.Ordinal));
        Assert.Contains("Publication 'atlas_cdc_outbox' (Cdc:Publication) does not exist", fatal, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, line => line.Contains("   at ", StringComparison.Ordinal)); // messages, not stack traces
        Assert.All(lines.Where(line => line.Contains("Reconnecting", StringComparison.Ordinal)),
            line => Assert.Contains("socket: ConnectionRefused", line, StringComparison.Ordinal));
        output.WriteLine($"exit code {exitCode} after {lines.Count(l => l.Contains("Reconnecting", StringComparison.Ordinal))} refused connections: {fatal.Trim()}");
        await relay.DisposeAsync();
    }

    [Theory]
    [InlineData("Cdc__ConfirmInterval", "banana", "a duration: use [d.]hh:mm:ss[.fff], such as 00:00:00.500")]
    [InlineData("Cdc__MaxInFlightEvents", "lots", "a whole number such as 50000")]
    [InlineData("Cdc__Retention__Enabled", "maybe", "true or false")]
    [InlineData("Cdc__DeadLetter__Policy", "Stop", "one of DeadLetter, Halt")]
    public async Task Unparseable_setting_value_exits_with_one_line_naming_the_setting_the_variable_the_value_and_what_is_accepted(
        string variable, string value, string accepted)
    {
        await using var scenario = await environment.CreateScenarioAsync("unparseable");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string> { [variable] = value });
        var setting = variable.Replace("__", ":", StringComparison.Ordinal);
        Assert.Contains($"Fatal: {setting} (env {variable}) '{value}' is not {accepted}", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelled_setting_exits_with_one_line_naming_it_and_the_settings_at_its_place()
    {
        await using var scenario = await environment.CreateScenarioAsync("misspelled");
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string>
        {
            ["Cdc__Outboxes__main__Table"] = "public.outbox",
            ["Cdc__Outboxes__main__ValueFormt"] = "Avro",
        });
        Assert.Contains("Fatal: Cdc:Outboxes:main:ValueFormt (env Cdc__Outboxes__main__ValueFormt) is not a setting of the relay, so it would be ignored: " +
                        "the settings under Cdc:Outboxes:main are ", fatal, StringComparison.Ordinal);
        Assert.Contains("ValueFormat", fatal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_port_already_taken_exits_naming_the_setting()
    {
        await using var scenario = await environment.CreateScenarioAsync("porttaken");
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)taken.LocalEndpoint).Port}";
        var fatal = await RunUntilExitAsync(scenario, new Dictionary<string, string> { ["Cdc__Http__Url"] = url });
        Assert.Contains($"Cdc:Http:Url (env Cdc__Http__Url) '{url}' cannot be listened on", fatal, StringComparison.Ordinal);
    }

    /// <summary>Starts a relay, expects it to exit 2 within 30 s with exactly one fatal line, and returns that line.</summary>
    private async Task<string> RunUntilExitAsync(RelayScenario scenario, IReadOnlyDictionary<string, string>? extra = null)
    {
        var stopwatch = Stopwatch.StartNew();
        var relay = scenario.StartRelay(extra);
        var exitCode = await relay.WaitForExitAsync(s_exitLimit);
        var elapsed = stopwatch.Elapsed;
        var lines = relay.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.True(exitCode == 2, $"exit code {exitCode}, not 2:\n{relay.Output}");
        var fatal = Assert.Single(lines, line => line.Contains("Fatal:", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains("Reconnecting", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains("   at ", StringComparison.Ordinal)); // one message, not a stack trace
        output.WriteLine($"exit code {exitCode} after {elapsed.TotalSeconds:F1} s: {fatal.Trim()}");
        return fatal;
    }
}

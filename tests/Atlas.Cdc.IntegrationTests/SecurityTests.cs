using System.Net;
using Npgsql;
using static Atlas.Cdc.IntegrationTests.SqlCommands;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The roles of sql/003_roles.sql give each side only what it needs, and secrets never reach logs, metrics or
/// error messages.
/// </summary>
[Collection(CdcCollection.Name)]
public class SecurityTests(CdcEnvironment environment)
{
    private const string InsufficientPrivilege = "42501";

    [Fact]
    public async Task Writer_role_can_insert_events_but_cannot_read_update_or_delete_any()
    {
        await using var scenario = await environment.CreateScenarioAsync("writerrole");
        var login = "orders_service_" + scenario.Database;
        await environment.Postgres.ExecuteAsync($"CREATE ROLE {login} LOGIN; GRANT atlas_cdc_writer TO {login}");
        var otherTeams = await scenario.InsertAsync(new OutboxRow("Payment", "payment-1", "Paid", """{"card": "secret"}"""));

        await using var writer = await OpenAsAsync(scenario, login);
        await ExecuteAsync(writer,
            "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('Order', 'order-1', 'Placed', '{}')");
        await ExecuteAsync(writer,
            "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload, headers) " +
            "VALUES (gen_random_uuid(), 'Order', 'order-1', 'Paid', '{}', '{\"traceparent\": \"t\"}')");

        foreach (var sql in new[]
                 {
                     "SELECT payload FROM public.outbox",
                     "SELECT id FROM public.outbox",
                     "SELECT count(*) FROM public.outbox",
                     $"UPDATE public.outbox SET payload = '{{}}' WHERE id = '{otherTeams[0]}'",
                     $"DELETE FROM public.outbox WHERE id = '{otherTeams[0]}'",
                     "TRUNCATE public.outbox",
                     "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('Order', 'o', 'E', '{}') RETURNING id",
                     "SELECT * FROM pg_create_logical_replication_slot('writer_slot', 'pgoutput')",
                     "SELECT id FROM public.outbox_retention",
                     "SELECT * FROM public.atlas_cdc_progress",
                     "UPDATE public.atlas_cdc_progress SET pending = 'recovery'",
                 })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(writer, sql));
            Assert.True(error.SqlState == InsufficientPrivilege, $"{sql}: expected permission denied, got {error.SqlState} {error.MessageText}");
        }
        Assert.Equal(3L, await scenario.ScalarAsync<long>("SELECT count(*) FROM public.outbox"));
    }

    [Fact]
    public async Task Relay_role_is_no_superuser_has_replication_reads_but_cannot_change_the_outbox_and_is_enough_to_relay()
    {
        await using var scenario = await environment.CreateScenarioAsync("relayrole");
        var attributes = await scenario.ScalarAsync<string>(
            "SELECT concat_ws(',', rolsuper, rolreplication, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin) FROM pg_roles WHERE rolname = 'atlas_cdc_relay'");
        Assert.Equal("f,t,f,f,f,t", attributes); // super, replication, createrole, createdb, bypassrls, login

        // RelayScenario always connects as atlas_cdc_relay: relaying works with nothing more.
        Assert.Contains("Username=atlas_cdc_relay", scenario.RelayConnectionString, StringComparison.Ordinal);
        await using var relay = await scenario.StartReadyRelayAsync();
        var ids = await scenario.InsertAsync(new OutboxRow("Salary", "employee-1", "Raised", """{"amount": 100000}""", """{"reason": "private"}"""));
        var record = Assert.Single(await scenario.WaitForEventsAsync([scenario.Topic("Salary")], ids));
        Assert.Equal("""{"amount": 100000}""", record.Payload);

        // Through SQL it reads what it already receives through its slot (backfill, recovery and replay need it,
        // docs/adr/0016 says why that exposes nothing new), and records its progress; it changes nothing else.
        await using var relayConnection = await OpenAsAsync(scenario, "atlas_cdc_relay");
        Assert.Equal("""{"amount": 100000}""", await ScalarAsync<string>(relayConnection, "SELECT payload::text FROM public.outbox"));
        Assert.Equal("id,created_at,inserted_xid", await ScalarAsync<string>(relayConnection,
            "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.outbox_retention'::regclass AND attnum > 0"));
        Assert.Equal(1L, await ScalarAsync<long>(relayConnection, "SELECT count(inserted_xid) FROM public.outbox_retention"));
        Assert.Equal(1L, await ScalarAsync<long>(relayConnection, $"SELECT count(*) FROM public.atlas_cdc_progress WHERE slot_name = '{scenario.Slot}'"));
        foreach (var sql in new[]
                 {
                     "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('Salary', 'e', 'Forged', '{}')",
                     "UPDATE public.outbox SET created_at = now()",
                     "UPDATE public.outbox SET payload = '{}'",
                     "TRUNCATE public.outbox",
                     "DELETE FROM public.atlas_cdc_progress",
                     "CREATE TABLE public.relay_owned (x int)",
                     "ALTER PUBLICATION atlas_cdc_outbox SET (publish = 'insert, delete')",
                 })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(relayConnection, sql));
            Assert.True(error.SqlState == InsufficientPrivilege, $"{sql}: expected permission denied, got {error.SqlState} {error.MessageText}");
        }
    }

    [Fact]
    public async Task Passwords_and_secrets_never_appear_in_logs_metrics_or_errors()
    {
        await using var scenario = await environment.CreateScenarioAsync("secrets");
        var role = "relay_secret_" + scenario.Database;
        const string password = "Pg-Secret-9f3a71c2";
        const string kafkaSecret = "Kafka-Secret-5d20be41";
        const string wrongPassword = "Wrong-Secret-0c44d1e9";
        await PasswordAuthentication.CreateRoleAsync(environment.Postgres, role, password, $"GRANT atlas_cdc_relay TO {role}");
        var secrets = new[] { password, kafkaSecret, wrongPassword };

        // A working relay with a password and a Kafka secret: its logs, /metrics and /readyz.
        var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = environment.Postgres.ConnectionStringFor(role, password, scenario.Database),
            ["Cdc__Kafka__Properties__sasl.username"] = "relay",
            ["Cdc__Kafka__Properties__sasl.password"] = kafkaSecret,
            ["Logging__LogLevel__Default"] = "Debug",
            ["Logging__LogLevel__Npgsql"] = "Debug",
        });
        var ids = await scenario.InsertAsync(RelayCoreTests.Rows("Audit", 3));
        await scenario.WaitForEventsAsync([scenario.Topic("Audit")], ids);
        var metrics = await relay.GetTextAsync("/metrics");
        var readiness = await RelayProbe.ReadinessAsync(relay);
        await environment.Postgres.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        Assert.Equal(0, await relay.TerminateAsync());
        Assert.Contains("Reconnecting", relay.Output, StringComparison.Ordinal);
        AssertNoSecret(secrets, relay.Output, "the log of a working relay");
        AssertNoSecret(secrets, metrics, "/metrics");
        AssertNoSecret(secrets, readiness, "/readyz");

        // A wrong password: the fatal error names the user, never the password.
        var rejected = scenario.StartRelay(new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = environment.Postgres.ConnectionStringFor(role, wrongPassword, scenario.Database),
        });
        Assert.Equal(2, await rejected.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("password authentication failed", rejected.Output, StringComparison.Ordinal);
        AssertNoSecret(secrets, rejected.Output, "the fatal error of a wrong password");

        // A connection string that does not even parse is not echoed either.
        var unparsable = scenario.StartRelay(new Dictionary<string, string>
        {
            ["Cdc__Postgres__ConnectionString"] = $"Host=127.0.0.1;Password={password};Unknown Keyword=1",
        });
        Assert.Equal(2, await unparsable.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Cdc:Postgres:ConnectionString", unparsable.Output, StringComparison.Ordinal);
        AssertNoSecret(secrets, unparsable.Output, "the configuration error of an unparsable connection string");
    }

    [Fact]
    public async Task Secret_that_librdkafka_echoes_in_a_producer_configuration_error_is_masked()
    {
        await using var scenario = await environment.CreateScenarioAsync("kafkasecret");
        const string secret = "Kafka-Secret-7c1e90aa";
        // The SASL password also pasted into the wrong setting: librdkafka refuses that value and quotes it.
        var relay = scenario.StartRelay(new Dictionary<string, string>
        {
            ["Cdc__Kafka__Properties__sasl.password"] = secret,
            ["Cdc__Kafka__Properties__security.protocol"] = secret,
        });
        Assert.Equal(2, await relay.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var fatal = Assert.Single(relay.Output.Split('\n'), line => line.Contains("Fatal:", StringComparison.Ordinal));
        Assert.Contains("librdkafka refused the producer configuration", fatal, StringComparison.Ordinal);
        Assert.Contains("\"***\" for configuration property \"security.protocol\"", fatal, StringComparison.Ordinal);
        Assert.Contains("Cdc:Kafka:Properties", fatal, StringComparison.Ordinal);
        AssertNoSecret([secret], relay.Output, "the producer configuration error");
    }

    private static void AssertNoSecret(IEnumerable<string> secrets, string text, string where)
    {
        foreach (var secret in secrets)
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{where} contains the secret '{secret}':\n{text}");
    }

    private static async Task<NpgsqlConnection> OpenAsAsync(RelayScenario scenario, string role)
    {
        var connection = new NpgsqlConnection(scenario.Environment.Postgres.ConnectionStringFor(role, database: scenario.Database));
        await connection.OpenAsync();
        return connection;
    }
}

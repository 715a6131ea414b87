using System.Diagnostics;
using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The compose stack's PostgreSQL init script (deploy/postgres/initdb) and the demo writer's insert, run against a
/// real PostgreSQL the way the postgres image's entrypoint runs them.
/// </summary>
[Collection(CdcCollection.Name)]
public class PostgresInitScriptTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Init_script_applies_sql_sets_the_relay_password_and_creates_an_insert_only_demo_writer()
    {
        const string database = "compose_init";
        await environment.Postgres.ExecuteAsync($"CREATE DATABASE {database}");
        try
        {
            var script = StackFiles.Path("deploy", "postgres", "initdb", "10-atlas-cdc.sh");
            var (exitCode, output) = await RunAsync("bash", [script], new Dictionary<string, string>
            {
                ["POSTGRES_USER"] = "postgres",
                ["POSTGRES_DB"] = database,
                ["PGHOST"] = "127.0.0.1",
                ["PGPORT"] = environment.Postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ATLAS_CDC_SQL_DIR"] = StackFiles.Path("sql"),
                ["ATLAS_CDC_RELAY_PASSWORD"] = "test-relay-secret",
                ["ATLAS_CDC_DEMO_WRITER_PASSWORD"] = "test-writer-secret",
            });
            Assert.True(exitCode == 0, output);
            Assert.DoesNotContain("test-relay-secret", output);

            Assert.Equal(2L, await environment.Postgres.ScalarAsync<long>(
                "SELECT count(*) FROM pg_authid WHERE rolname IN ('atlas_cdc_relay', 'atlas_demo_writer') AND rolpassword IS NOT NULL"));
            Assert.True(await environment.Postgres.ScalarAsync<bool>("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'atlas_demo_writer'"));

            await using (var writer = new NpgsqlConnection(environment.Postgres.ConnectionStringFor("atlas_demo_writer", database: database)))
            {
                await writer.OpenAsync();
                var insert = await File.ReadAllTextAsync(StackFiles.Path("deploy", "demo-writer", "insert-events.sql"));
                await using (var command = new NpgsqlCommand(insert, writer))
                    Assert.Equal(5, await command.ExecuteNonQueryAsync());
                await using var read = new NpgsqlCommand("SELECT count(*) FROM public.outbox", writer);
                var denied = await Assert.ThrowsAsync<PostgresException>(() => read.ExecuteScalarAsync());
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, denied.SqlState);
            }

            await using var superuser = new NpgsqlConnection(environment.Postgres.ConnectionStringFor("postgres", database: database));
            await superuser.OpenAsync();
            await using var check = new NpgsqlCommand(
                "SELECT (SELECT count(*) FROM pg_publication WHERE pubname = 'atlas_cdc_outbox'), (SELECT count(DISTINCT aggregate_type) FROM public.outbox)", superuser);
            await using var reader = await check.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(1L, reader.GetInt64(0));
            Assert.InRange(reader.GetInt64(1), 1L, 3L);
        }
        finally
        {
            await environment.Postgres.ExecuteAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            await environment.Postgres.ExecuteAsync("DROP ROLE IF EXISTS atlas_demo_writer");
            await environment.Postgres.ExecuteAsync("ALTER ROLE atlas_cdc_relay PASSWORD NULL");
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string[] arguments, Dictionary<string, string> environment)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("PG", StringComparison.Ordinal)).ToList())
            startInfo.Environment.Remove(name);
        foreach (var (name, value) in environment)
            startInfo.Environment[name] = value;
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

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

            // The demo writer's loop, as its container runs it, until it has written a few more batches.
            await using var superuser = new NpgsqlConnection(environment.Postgres.ConnectionStringFor("postgres", database: database));
            await superuser.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT count(*) FROM public.outbox", superuser);
            var port = environment.Postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            using (var demoWriter = Start("bash", [StackFiles.Path("deploy", "demo-writer", "write-events.sh")], new Dictionary<string, string>
                   {
                       ["PGHOST"] = "127.0.0.1",
                       ["PGPORT"] = port,
                       ["PGDATABASE"] = database,
                       ["PGUSER"] = "atlas_demo_writer",
                       ["DEMO_INTERVAL_SECONDS"] = "0.1",
                   }))
            {
                var writerOutput = Task.WhenAll(demoWriter.StandardOutput.ReadToEndAsync(), demoWriter.StandardError.ReadToEndAsync());
                try
                {
                    var deadline = DateTime.UtcNow.AddSeconds(20);
                    while ((long)(await count.ExecuteScalarAsync())! < 20 && DateTime.UtcNow < deadline && !demoWriter.HasExited)
                        await Task.Delay(100);
                }
                finally
                {
                    demoWriter.Kill(entireProcessTree: true);
                    await demoWriter.WaitForExitAsync();
                }
                var written = (long)(await count.ExecuteScalarAsync())!;
                Assert.True(written >= 20, $"the demo writer wrote {written - 5} events in 20 s:\n{string.Join('\n', await writerOutput)}");
            }
            await using var check = new NpgsqlCommand(
                "SELECT (SELECT count(*) FROM pg_publication WHERE pubname = 'atlas_cdc_outbox'), (SELECT count(DISTINCT aggregate_type) FROM public.outbox)", superuser);
            await using var reader = await check.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(1L, reader.GetInt64(0));
            Assert.Equal(3L, reader.GetInt64(1));
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
        using var process = Start(fileName, arguments, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Starts a tool with only the given PG* variables, so a developer's PGHOST or PGUSER cannot leak in.</summary>
    private static Process Start(string fileName, string[] arguments, Dictionary<string, string> environment)
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
        return Process.Start(startInfo)!;
    }
}

using System.Diagnostics;
using Atlas.Cdc.Sandbox;
using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The sandbox server trusts every local connection (initdb -A trust). This puts a scram-sha-256 line for one
/// role at the top of pg_hba.conf and reloads, so only that role must prove its password; other tests are unaffected.
/// </summary>
internal static class PasswordAuthentication
{
    private static readonly SemaphoreSlim s_lock = new(1, 1);

    /// <summary>Creates a LOGIN REPLICATION role with <paramref name="password"/> that must authenticate with it.</summary>
    public static async Task CreateRoleAsync(TemporaryPostgres postgres, string role, string password, string grants)
    {
        await postgres.ExecuteAsync($"CREATE ROLE {role} LOGIN REPLICATION PASSWORD '{password}'; {grants}");
        await RequireAsync(postgres, role);
    }

    private static async Task RequireAsync(TemporaryPostgres postgres, string role)
    {
        await s_lock.WaitAsync();
        try
        {
            var file = Path.Combine(postgres.DataDirectory, "pg_hba.conf");
            var line = $"host all {role} 127.0.0.1/32 scram-sha-256\n";
            await File.WriteAllTextAsync(file, line + await File.ReadAllTextAsync(file));
            await postgres.ExecuteAsync("SELECT pg_reload_conf()");
        }
        finally
        {
            s_lock.Release();
        }

        // The reload is asynchronous: wait until a connection without the password is refused.
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(
                    new NpgsqlConnectionStringBuilder(postgres.ConnectionStringFor(role)) { Pooling = false }.ConnectionString);
                await connection.OpenAsync();
            }
            catch (NpgsqlException)
            {
                return;
            }
            if (stopwatch.Elapsed > TimeSpan.FromSeconds(10))
                throw new TimeoutException($"PostgreSQL still lets {role} in without a password after reloading pg_hba.conf.");
            await Task.Delay(50);
        }
    }
}

using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>One-statement helpers for tests that drive SQL by hand (<c>using static</c>).</summary>
internal static class SqlCommands
{
    /// <summary>Runs <paramref name="sql"/>; <paramref name="timeoutSeconds"/> replaces the connection's command timeout for long statements.</summary>
    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql, int? timeoutSeconds = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (timeoutSeconds is { } timeout)
            command.CommandTimeout = timeout;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}

using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>One-statement helpers for tests that drive SQL by hand (<c>using static</c>).</summary>
internal static class SqlCommands
{
    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}

using System.Globalization;
using Npgsql;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// SQL as the superuser on a temporary server, through unpooled connections (these helpers are used around
/// restarts, where a pooled connection would be stale). A server that cannot be reached becomes a
/// <see cref="TemporaryPostgresException"/> with the log tail; SQL errors stay <see cref="PostgresException"/>.
/// </summary>
internal sealed class SuperuserSql(Func<string> connectionString, Func<int> port, Func<string> logTail)
{
    public Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken) =>
        WithCommandAsync(sql, command => command.ExecuteNonQueryAsync(cancellationToken), cancellationToken);

    public Task<T?> ScalarAsync<T>(string sql, CancellationToken cancellationToken) =>
        WithCommandAsync(sql, async command =>
        {
            var value = await command.ExecuteScalarAsync(cancellationToken);
            if (value is null or DBNull)
                return default;
            if (value is T typed)
                return typed;
            var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
            return (T?)Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
        }, cancellationToken);

    private async Task<T> WithCommandAsync<T>(string sql, Func<NpgsqlCommand, Task<T>> run, CancellationToken cancellationToken)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString()) { Pooling = false, CommandTimeout = 0 };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(sql, connection);
            return await run(command);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new TemporaryPostgresException(
                $"SQL as superuser on port {port()} failed", sql, exitCode: null, ex.Message, logTail(), ex);
        }
    }
}

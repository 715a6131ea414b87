using Npgsql;

namespace Atlas.Cdc.Postgres;

/// <summary>One-statement helpers for the relay's few plain SQL calls (checks, progress, retention, table reads), and identifier quoting.</summary>
internal static class SqlCommands
{
    /// <summary>Runs a statement. Parameters are <see cref="NpgsqlParameter"/>s or plain values Npgsql types itself.</summary>
    public static async Task ExecuteAsync(this NpgsqlConnection connection, string sql, CancellationToken cancellationToken,
        params object[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The first column of the first row; the type's default when there is no row or the value is NULL.</summary>
    public static async Task<T?> ScalarAsync<T>(this NpgsqlConnection connection, string sql, CancellationToken cancellationToken,
        params object[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is null or DBNull ? default : (T)result;
    }

    /// <summary>A double-quoted SQL identifier, inner double quotes doubled: <c>My "Table"</c> → <c>"My ""Table"""</c>.</summary>
    public static string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>A schema-qualified name, each part quoted: <c>"public"."outbox"</c>.</summary>
    public static string QuoteQualified(string schema, string name) => $"{QuoteIdentifier(schema)}.{QuoteIdentifier(name)}";

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(parameter as NpgsqlParameter ?? new NpgsqlParameter { Value = parameter });
        return command;
    }
}

using Npgsql;

namespace Atlas.Cdc.Postgres;

/// <summary>Connection-string helpers that keep secrets out of logs and error messages.</summary>
internal static class PostgresConnectionStrings
{
    /// <summary>Host, port, database and user only: safe to log.</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $"Host={builder.Host};Port={builder.Port};Database={builder.Database ?? builder.Username};Username={builder.Username}";
        }
        catch (ArgumentException)
        {
            return "(unparseable connection string)";
        }
    }

    /// <summary>Checks that the string parses, without ever echoing it (it may hold a password).</summary>
    public static string? Validate(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            return "Cdc:Postgres:ConnectionString (env Cdc__Postgres__ConnectionString) is empty: give an Npgsql connection string, e.g. Host=db;Database=app;Username=atlas_cdc_relay;Password=...";
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            return $"Cdc:Postgres:ConnectionString (env Cdc__Postgres__ConnectionString) is not a valid Npgsql connection string: {e.GetType().Name}. (Its value is not shown because it may contain a password.)";
        }
    }

    /// <summary>The same target for ordinary queries (checks, slot statistics), with a short timeout and no pooling.</summary>
    public static string ForQueries(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            Timeout = 10,
            CommandTimeout = 15,
            ApplicationName = "atlas-cdc",
        }.ConnectionString;

    /// <summary>Npgsql's default <c>Read Buffer Size</c>.</summary>
    private const int NpgsqlDefaultReadBufferSize = 8192;

    /// <summary>
    /// Replication reads in 256 KB chunks unless the connection string sets <c>Read Buffer Size</c>: with Npgsql's
    /// 8 KB a catch-up backlog is fetched ~40 small messages per socket read, each read a trip through the thread
    /// pool (measured in the catch-up benchmark: 5-10% less relay CPU, docs/benchmarks.md).
    /// </summary>
    public const int ReplicationReadBufferSize = 256 * 1024;

    public static string ForReplication(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timeout = 10,
            ApplicationName = "atlas-cdc",
        };
        if (builder.ReadBufferSize == NpgsqlDefaultReadBufferSize)
            builder.ReadBufferSize = ReplicationReadBufferSize;
        // pgoutput sends values in their text output; a bytea payload must come as hex whatever the server's default.
        builder.Options = $"{builder.Options} -c bytea_output=hex".Trim();
        return builder.ConnectionString;
    }
}

using Npgsql;

namespace Atlas.Cdc.Replication;

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

    public static string ForReplication(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timeout = 10,
            ApplicationName = "atlas-cdc",
        }.ConnectionString;
}

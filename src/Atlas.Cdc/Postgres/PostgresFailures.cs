using System.Net.Sockets;
using Npgsql;

namespace Atlas.Cdc.Postgres;

/// <summary>Sorts PostgreSQL failures into the fatal ones (configuration) and the ones a reconnect fixes.</summary>
internal static class PostgresFailures
{
    public const string ObjectInUse = "55006";

    /// <summary>Returns a fatal error to end the process with, or null when the failure is transient.</summary>
    public static FatalConfigurationException? AsFatal(Exception exception, string target)
    {
        if (exception is FatalConfigurationException fatal)
            return fatal;
        if (exception is not PostgresException postgres)
            return null;
        var message = postgres.SqlState switch
        {
            "28P01" => $"PostgreSQL authentication failed for {target}: {postgres.MessageText}. Check the user and password in Cdc:Postgres:ConnectionString.",
            "28000" => $"PostgreSQL refused the connection for {target}: {postgres.MessageText}. The role may not exist, or pg_hba.conf does not allow it: the relay's logical replication connection is matched by the line for its database (or 'all'), never by the 'replication' keyword, which is for physical replication only.",
            "3D000" => $"PostgreSQL database missing for {target}: {postgres.MessageText}.",
            "42501" => $"PostgreSQL denied a permission to {target}: {postgres.MessageText}. The relay's role needs REPLICATION and the grants of sql/003_roles.sql and sql/006_relay_progress.sql.",
            "42704" => $"PostgreSQL object missing for {target}: {postgres.MessageText}.",
            _ => null,
        };
        return message is null ? null : new FatalConfigurationException(message, postgres);
    }

    /// <summary>True when another relay holds the slot (PostgreSQL allows one consumer at a time).</summary>
    public static bool IsSlotInUse(Exception exception) =>
        exception is PostgresException { SqlState: ObjectInUse };

    /// <summary>
    /// The slot was invalidated (max_slot_wal_keep_size) while or just before this session used it: 55000 "can no
    /// longer get changes from replication slot". Not fatal and not retried as it is: the next session finds
    /// <c>wal_status = lost</c> and recovers (Recovery/SlotPreparation.cs).
    /// </summary>
    public static bool IsSlotInvalidated(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.ObjectNotInPrerequisiteState } postgres
        && postgres.MessageText.Contains("replication slot", StringComparison.Ordinal);

    /// <summary>A short description for logs: never the connection string.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        PostgresException postgres when IsSlotInvalidated(postgres) =>
            $"{postgres.SqlState}: {postgres.MessageText} (the slot was invalidated; the next session recovers it)",
        PostgresException postgres => $"{postgres.SqlState}: {postgres.MessageText}",
        NpgsqlException { InnerException: SocketException socket } => $"socket: {socket.SocketErrorCode}",
        NpgsqlException { InnerException: { } inner } npgsql => $"{npgsql.Message} ({inner.GetType().Name}: {inner.Message})",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };
}

using System.Net.Sockets;
using Atlas.Cdc.Postgres;
using Npgsql;

namespace Atlas.Cdc.UnitTests;

public class PostgresFailuresTests
{
    private const string Target = "Host=db;Port=5432;Database=app;Username=atlas_cdc_relay";

    [Theory]
    [InlineData("57P03", "the database system is starting up")]
    [InlineData("57P03", "the database system is shutting down")]
    [InlineData("57P01", "terminating connection due to administrator command")]
    [InlineData("53300", "sorry, too many clients already")]
    [InlineData("55006", "replication slot \"atlas_cdc\" is active for PID 42")]
    [InlineData("08006", "connection failure")]
    [InlineData("40001", "could not serialize access")]
    public void Server_states_that_pass_are_transient(string sqlState, string message) =>
        Assert.Null(PostgresFailures.AsFatal(new PostgresException(message, "FATAL", "FATAL", sqlState), Target));

    [Fact]
    public void An_invalidated_slot_is_not_fatal_and_its_description_says_the_next_session_recovers_it()
    {
        var invalidated = new PostgresException("can no longer get changes from replication slot \"atlas_cdc\"", "ERROR", "ERROR", "55000");
        Assert.Null(PostgresFailures.AsFatal(invalidated, Target));
        Assert.True(PostgresFailures.IsSlotInvalidated(invalidated));
        Assert.Contains("the next session recovers it", PostgresFailures.Describe(invalidated), StringComparison.Ordinal);
        Assert.False(PostgresFailures.IsSlotInvalidated(new PostgresException("cannot do that now", "ERROR", "ERROR", "55000")));
    }

    [Fact]
    public void Connection_refused_is_transient() =>
        Assert.Null(PostgresFailures.AsFatal(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused)), Target));

    [Theory]
    [InlineData("28P01", "password authentication failed for user \"atlas_cdc_relay\"", "Check the user and password")]
    [InlineData("28000", "role \"atlas_cdc_relay\" does not exist", "The role may not exist")]
    [InlineData("28000", "pg_hba.conf rejects connection for host \"10.0.0.5\"", "never by the 'replication' keyword")]
    [InlineData("3D000", "database \"app\" does not exist", "database missing")]
    [InlineData("42501", "must be superuser or replication role to start walsender", "needs REPLICATION")]
    public void Configuration_problems_are_fatal_and_name_the_target_without_a_password(string sqlState, string message, string advice)
    {
        var fatal = PostgresFailures.AsFatal(new PostgresException(message, "FATAL", "FATAL", sqlState), Target);
        Assert.NotNull(fatal);
        Assert.Contains(Target, fatal.Message, StringComparison.Ordinal);
        Assert.Contains(message, fatal.Message, StringComparison.Ordinal);
        Assert.Contains(advice, fatal.Message, StringComparison.Ordinal);
    }
}

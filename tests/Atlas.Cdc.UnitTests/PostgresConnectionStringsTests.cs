using Atlas.Cdc.Postgres;
using Npgsql;

namespace Atlas.Cdc.UnitTests;

public class PostgresConnectionStringsTests
{
    [Fact]
    public void Replication_connection_reads_in_large_chunks_by_default()
    {
        var replication = new NpgsqlConnectionStringBuilder(
            PostgresConnectionStrings.ForReplication("Host=db;Database=app;Username=atlas_cdc_relay"));
        Assert.Equal(PostgresConnectionStrings.ReplicationReadBufferSize, replication.ReadBufferSize);
    }

    [Fact]
    public void Replication_connection_keeps_a_read_buffer_size_the_user_chose()
    {
        var replication = new NpgsqlConnectionStringBuilder(
            PostgresConnectionStrings.ForReplication("Host=db;Database=app;Username=atlas_cdc_relay;Read Buffer Size=32768"));
        Assert.Equal(32768, replication.ReadBufferSize);
    }

    [Fact]
    public void Query_connections_keep_npgsql_defaults()
    {
        var queries = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.ForQueries("Host=db;Database=app"));
        Assert.Equal(new NpgsqlConnectionStringBuilder().ReadBufferSize, queries.ReadBufferSize);
        Assert.False(queries.Pooling);
    }
}

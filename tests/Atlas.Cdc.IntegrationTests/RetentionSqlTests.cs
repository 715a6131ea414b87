using Atlas.Cdc.Events;
using Atlas.Cdc.Retention;
using Npgsql;
using NpgsqlTypes;
using static Atlas.Cdc.IntegrationTests.SqlCommands;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The retention statement itself, run against PostgreSQL on a table whose schema and name need quoting: it deletes
/// by primary key exactly the rows older than the age whose inserting transaction ended before the horizon, at
/// most a batch at a time.
/// </summary>
[Collection(CdcCollection.Name)]
public class RetentionSqlTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Delete_batch_removes_only_old_rows_of_transactions_below_the_horizon_a_batch_at_a_time_on_a_quoted_table()
    {
        await using var scenario = await environment.CreateScenarioAsync("retentionsql");
        var sql = new RetentionSql(Assert.Single(OutboxDefinition.From(new Configuration.CdcOptions { Table = "Sales Dept.Order\"Events" })));
        Assert.Equal("\"Sales Dept\".\"Order\"\"Events_retention\"", sql.View);
        await using var connection = await scenario.OpenAsync();
        await ExecuteAsync(connection,
            $"""
            CREATE SCHEMA "Sales Dept";
            CREATE TABLE {sql.Table} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL);
            CREATE VIEW {sql.View} AS SELECT id, created_at, xmin AS inserted_xid FROM {sql.Table};
            """);

        var oldBelow = await InsertAsync(connection, sql.Table, count: 5, age: "2 hours");   // delivered and old: deleted
        var youngBelow = await InsertAsync(connection, sql.Table, count: 2, age: "1 minute"); // delivered, too young: kept
        var horizon = await ScalarAsync<long>(connection, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint");
        var oldAbove = await InsertAsync(connection, sql.Table, count: 3, age: "2 hours");   // committed after the horizon: kept

        var batches = new List<int>();
        int deleted;
        do
        {
            await using var delete = new NpgsqlCommand(sql.DeleteBatch, connection);
            delete.Parameters.Add(new NpgsqlParameter { Value = TimeSpan.FromHours(1), NpgsqlDbType = NpgsqlDbType.Interval });
            delete.Parameters.Add(new NpgsqlParameter { Value = (uint)(horizon & uint.MaxValue), NpgsqlDbType = NpgsqlDbType.Xid });
            delete.Parameters.Add(new NpgsqlParameter { Value = 2 });
            batches.Add(deleted = await delete.ExecuteNonQueryAsync());
        }
        while (deleted > 0);

        Assert.Equal([2, 2, 1, 0], batches);
        var left = new List<Guid>();
        await using (var read = new NpgsqlCommand($"SELECT id FROM {sql.Table}", connection))
        await using (var reader = await read.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                left.Add(reader.GetGuid(0));
        Assert.Equal(youngBelow.Concat(oldAbove).Order(), left.Order());
        Assert.DoesNotContain(left, oldBelow.Contains);
    }

    /// <summary>Inserts rows in a transaction of their own with created_at <paramref name="age"/> ago.</summary>
    private static async Task<List<Guid>> InsertAsync(NpgsqlConnection connection, string table, int count, string age)
    {
        await using var command = new NpgsqlCommand(
            $"INSERT INTO {table} (created_at) SELECT now() - interval '{age}' FROM generate_series(1, {count}) RETURNING id", connection);
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            ids.Add(reader.GetGuid(0));
        return ids;
    }
}

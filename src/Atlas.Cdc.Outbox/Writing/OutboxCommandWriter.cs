using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Outbox.Writing;

/// <summary>
/// Sends checked rows to PostgreSQL. One row is one INSERT; several are one <see cref="NpgsqlBatch"/> of INSERTs,
/// written to the server together and answered together: one round trip, and (like every batch) one implicit
/// transaction when the caller has none, so a batch is stored whole or not at all.
/// </summary>
/// <remarks>
/// Why not one <c>INSERT ... SELECT FROM unnest(...)</c>: the result must say per event whether it was a
/// duplicate, and an INSERT-only role cannot use RETURNING. A batch gives each statement its own row count.
/// </remarks>
internal static class OutboxCommandWriter
{
    public static async Task<OutboxWriteResult> WriteAsync(
        bool async, NpgsqlConnection connection, NpgsqlTransaction? transaction, OutboxRow row, OutboxWriteOptions options,
        CancellationToken cancellationToken)
    {
        CheckTransaction(connection, transaction);
        var sql = options.Sql;
        await using var command = new NpgsqlCommand(row.IdempotencyKey is null ? sql.InsertWithoutKey : sql.InsertWithKey, connection, transaction);
        AddParameters(command.Parameters, row);
        var affected = async
            ? await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false)
            : command.ExecuteNonQuery();
        return new OutboxWriteResult(row.Id, affected == 1, row.IdempotencyKey);
    }

    public static async Task<IReadOnlyList<OutboxWriteResult>> WriteBatchAsync(
        bool async, NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<OutboxRow> rows, OutboxWriteOptions options,
        CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
            return [];
        if (rows.Count == 1)
            return [await WriteAsync(async, connection, transaction, rows[0], options, cancellationToken).ConfigureAwait(false)];

        CheckTransaction(connection, transaction);
        var sql = options.Sql;
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var row in rows)
        {
            var command = new NpgsqlBatchCommand(row.IdempotencyKey is null ? sql.InsertWithoutKey : sql.InsertWithKey);
            AddParameters(command.Parameters, row);
            batch.BatchCommands.Add(command);
        }
        if (async)
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        else
            batch.ExecuteNonQuery();

        var results = new OutboxWriteResult[rows.Count];
        for (var i = 0; i < rows.Count; i++)
            results[i] = new OutboxWriteResult(rows[i].Id, batch.BatchCommands[i].RecordsAffected == 1, rows[i].IdempotencyKey);
        return results;
    }

    private static void CheckTransaction(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        if (transaction is null)
            return;
        if (transaction.Connection is null)
            throw new InvalidOperationException("The transaction has already been committed or rolled back; the outbox event would not be part of it.");
        if (!ReferenceEquals(transaction.Connection, connection))
            throw new ArgumentException("The transaction belongs to another connection.", nameof(transaction));
    }

    private static void AddParameters(NpgsqlParameterCollection parameters, OutboxRow row)
    {
        parameters.Add(new NpgsqlParameter<Guid> { TypedValue = row.Id, NpgsqlDbType = NpgsqlDbType.Uuid });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = row.AggregateType, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = row.AggregateId, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = row.EventType, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = row.Payload, NpgsqlDbType = NpgsqlDbType.Jsonb });
        parameters.Add(row.Headers is null
            ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb }
            : new NpgsqlParameter<string> { TypedValue = row.Headers, NpgsqlDbType = NpgsqlDbType.Jsonb });
        if (row.IdempotencyKey is not null)
            parameters.Add(new NpgsqlParameter<string> { TypedValue = row.IdempotencyKey, NpgsqlDbType = NpgsqlDbType.Text });
    }
}

using Atlas.Cdc.Events;
using Atlas.Cdc.Postgres;

namespace Atlas.Cdc.Retention;

/// <summary>
/// The statements of outbox retention for one outbox table and its <c>&lt;table&gt;_retention</c> view beside it, which
/// shows the relay each row's id, created_at and inserting transaction id under those names, whatever the table's own.
/// </summary>
internal sealed class RetentionSql
{
    public RetentionSql(OutboxDefinition outbox)
    {
        var table = outbox.Table;
        Outbox = outbox;
        Table = SqlCommands.QuoteQualified(table.Schema, table.Name);
        View = SqlCommands.QuoteQualified(table.Schema, table.Name + "_retention");
        // $1 retention age, $2 the 32-bit id of the oldest transaction running at a confirmed checkpoint, $3 batch size.
        // The ids are collected first (created_at index, LIMIT), then deleted by primary key.
        DeleteBatch =
            $"DELETE FROM {Table} WHERE {SqlCommands.QuoteIdentifier(outbox.IdColumn)} = ANY (ARRAY(" +
            $"SELECT id FROM {View} WHERE created_at < now() - $1 AND age(inserted_xid) > age($2) ORDER BY created_at LIMIT $3))";
    }

    public OutboxDefinition Outbox { get; }

    /// <summary>The outbox table, quoted.</summary>
    public string Table { get; }

    /// <summary>The view exposing id, created_at and the inserting transaction id (sql/004_outbox_retention.sql).</summary>
    public string View { get; }

    public string DeleteBatch { get; }
}

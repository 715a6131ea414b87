namespace Atlas.Cdc.Outbox.Writing;

/// <summary>The INSERT statements for one outbox table (<see cref="OutboxWriteOptions.Table"/>).</summary>
internal sealed class OutboxSql
{
    private OutboxSql(string quotedTable)
    {
        // A writer-made id, and no RETURNING: the writer role has INSERT only, and RETURNING needs SELECT.
        InsertWithoutKey =
            $"INSERT INTO {quotedTable} (id, aggregate_type, aggregate_id, event_type, payload, headers) VALUES ($1, $2, $3, $4, $5, $6)";
        // No conflict target: naming one (ON CONFLICT (idempotency_key)) needs SELECT on that column. The only other
        // unique key is the id, made here from UUIDv7, so a conflict means the idempotency key is taken.
        InsertWithKey =
            $"INSERT INTO {quotedTable} (id, aggregate_type, aggregate_id, event_type, payload, headers, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
    }

    /// <summary>Plain insert: a row without a key is always new.</summary>
    public string InsertWithoutKey { get; }

    /// <summary>Insert that does nothing (0 rows) when the key exists; it works without sql/005 only for rows without a key.</summary>
    public string InsertWithKey { get; }

    public static OutboxSql For(string table)
    {
        var parts = string.IsNullOrWhiteSpace(table) ? [] : table.Trim().Split('.');
        if (parts.Length is 0 or > 2 || parts.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException(
                $"OutboxWriteOptions.Table '{table}' is not a table name of the form schema.table (e.g. public.outbox).", nameof(table));
        var quoted = string.Join('.', (parts.Length == 1 ? ["public", parts[0]] : parts).Select(Quote));
        return new OutboxSql(quoted);
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

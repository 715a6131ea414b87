namespace Atlas.Cdc.Events;

/// <summary>A schema-qualified table name as given in <c>Cdc:Table</c> (<c>outbox</c> means <c>public.outbox</c>).</summary>
public sealed record OutboxTableName(string Schema, string Name)
{
    public static bool TryParse(string? value, out OutboxTableName table, out string? error)
    {
        table = new OutboxTableName("public", "outbox");
        error = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "is empty";
            return false;
        }
        var parts = value.Trim().Split('.');
        if (parts.Length > 2 || parts.Any(string.IsNullOrWhiteSpace))
        {
            error = $"'{value}' is not a table name of the form schema.table";
            return false;
        }
        table = parts.Length == 2 ? new OutboxTableName(parts[0], parts[1]) : new OutboxTableName("public", parts[0]);
        return true;
    }

    public override string ToString() => $"{Schema}.{Name}";
}

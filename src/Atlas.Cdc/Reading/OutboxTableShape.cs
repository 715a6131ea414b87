using Atlas.Cdc.Events;
using Npgsql;

namespace Atlas.Cdc.Reading;

/// <summary>
/// An outbox table as the catalog shows it: whether it exists and each column's type, checked against the roles
/// its outbox gives the columns. Start-up checks report what does not fit; the table reader builds its SQL from it.
/// </summary>
internal sealed class OutboxTableShape
{
    private static readonly string[] s_textTypes = ["text", "character varying", "character"];
    private static readonly string[] s_keyTypes = [.. s_textTypes, "uuid", "smallint", "integer", "bigint"];

    private readonly Dictionary<string, string> _columnTypes;

    private OutboxTableShape(OutboxDefinition outbox, bool exists, Dictionary<string, string> columnTypes)
    {
        Outbox = outbox;
        Exists = exists;
        _columnTypes = columnTypes;
    }

    public OutboxDefinition Outbox { get; }

    public bool Exists { get; }

    /// <summary>The column's type as <c>format_type</c> prints it without modifiers (e.g. <c>character varying</c>), or null.</summary>
    public string? TypeOf(string column) => _columnTypes.GetValueOrDefault(column);

    public bool PayloadIsBytea => TypeOf(Outbox.PayloadColumn) == "bytea";

    public bool IdIsUuid => TypeOf(Outbox.IdColumn) == "uuid";

    /// <summary>Reads the shape of every outbox's table, one catalog query each.</summary>
    public static async Task<IReadOnlyList<OutboxTableShape>> ReadAsync(NpgsqlConnection connection, OutboxCatalog outboxes,
        CancellationToken cancellationToken)
    {
        var shapes = new List<OutboxTableShape>();
        foreach (var outbox in outboxes.All)
        {
            await using var command = new NpgsqlCommand(
                "SELECT a.attname, regexp_replace(format_type(a.atttypid, NULL), '\\[\\]$', '[]') FROM pg_class c " +
                "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped " +
                "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = outbox.Table.Schema });
            command.Parameters.Add(new NpgsqlParameter { Value = outbox.Table.Name });
            var columns = new Dictionary<string, string>(StringComparer.Ordinal);
            var exists = false;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    exists = true;
                    if (!reader.IsDBNull(0))
                        columns[reader.GetString(0)] = reader.GetString(1);
                }
            }
            shapes.Add(new OutboxTableShape(outbox, exists, columns));
        }
        return shapes;
    }

    /// <summary>Every mapped column that is missing or whose type cannot serve its role, as one message each.</summary>
    public IEnumerable<string> Problems()
    {
        foreach (var (role, column, types, required) in Roles())
        {
            if (column is null)
                continue;
            var type = TypeOf(column);
            if (type is null)
            {
                if (required)
                    yield return $"{Outbox} has no column '{column}' for {role} (set by {Outbox.ColumnSetting(role)}).";
                continue;
            }
            if (types is not null && !types.Contains(type))
                yield return $"{Outbox}: column '{column}' ({role}, set by {Outbox.ColumnSetting(role)}) is {type}; " +
                             $"{role} needs one of {string.Join(", ", types)}.";
        }
    }

    private IEnumerable<(string Role, string? Column, string[]? Types, bool Required)> Roles()
    {
        yield return ("Id", Outbox.IdColumn, s_keyTypes, true);
        yield return ("AggregateType", Outbox.AggregateTypeColumn, s_textTypes, true);
        yield return ("AggregateId", Outbox.AggregateIdColumn, s_keyTypes, true);
        yield return ("EventType", Outbox.EventTypeColumn, s_textTypes, true);
        yield return ("Payload", Outbox.PayloadColumn, ["jsonb", "json", .. s_textTypes, "bytea"], true);
        // Optional unless named in settings: a table without them has no row headers, no retention by age.
        yield return ("Headers", Outbox.HeadersColumn, ["jsonb", "json"], Outbox.NamedRoles.Contains("Headers"));
        yield return ("CreatedAt", Outbox.CreatedAtColumn, ["timestamp with time zone", "timestamp without time zone"], Outbox.NamedRoles.Contains("CreatedAt"));
        foreach (var (column, _) in Outbox.AdditionalHeaders)
            yield return ($"AdditionalHeaders:{column}", column, null, true);
    }
}

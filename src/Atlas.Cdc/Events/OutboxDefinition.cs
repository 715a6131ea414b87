using Atlas.Cdc.Configuration;

namespace Atlas.Cdc.Events;

/// <summary>
/// One outbox table as the relay reads it: its name in settings, the table, which column serves each role, where
/// its events go and which further columns become headers. Resolved once from <see cref="CdcOptions"/>.
/// </summary>
internal sealed class OutboxDefinition
{
    /// <summary>The name of the one outbox the <c>Cdc:Table</c> shorthand describes.</summary>
    public const string DefaultName = "default";

    public const string DebeziumTopicTemplate = "outbox.event.{aggregate_type}";

    public required string Name { get; init; }

    /// <summary>Position in <see cref="OutboxCatalog.All"/>: steps keep per-outbox state in arrays by it.</summary>
    public required int Index { get; init; }

    public required OutboxTableName Table { get; init; }

    public required OutboxPreset Preset { get; init; }

    public required string IdColumn { get; init; }

    public required string AggregateTypeColumn { get; init; }

    public required string AggregateIdColumn { get; init; }

    public required string EventTypeColumn { get; init; }

    public required string PayloadColumn { get; init; }

    /// <summary>The JSON object of headers, or null when the table has none.</summary>
    public required string? HeadersColumn { get; init; }

    /// <summary>The insertion time, or null when the table has none (no retention by age, no replay by time).</summary>
    public required string? CreatedAtColumn { get; init; }

    public required string TopicTemplate { get; init; }

    /// <summary>Further columns carried as headers, in the order given.</summary>
    public required IReadOnlyList<(string Column, string Header)> AdditionalHeaders { get; init; }

    public required bool RetentionEnabled { get; init; }

    /// <summary>How this outbox's values are written: its own setting, else <c>Cdc:Value:Format</c>.</summary>
    public required ValueFormat ValueFormat { get; init; }

    /// <summary>The setting that chose <see cref="ValueFormat"/>, for error messages.</summary>
    public required string ValueFormatSetting { get; init; }

    /// <summary>Subject template of its value schemas: its own setting, else <c>Cdc:SchemaRegistry:Subject</c>.</summary>
    public required string SubjectTemplate { get; init; }

    /// <summary>Where its refused events go: its own setting, else <c>Cdc:DeadLetter:Topic</c>.</summary>
    public required string DeadLetterTopic { get; init; }

    /// <summary>The setting that chose <see cref="DeadLetterTopic"/>, for error messages.</summary>
    public required string DeadLetterTopicSetting { get; init; }

    /// <summary>The roles whose column was named in settings: such a column must exist even when the role is optional.</summary>
    public required IReadOnlySet<string> NamedRoles { get; init; }

    /// <summary>Where the column of a role is set, for error messages.</summary>
    public string ColumnSetting(string role) => IsListed
        ? $"Cdc:Outboxes:{Name}:Columns:{role}"
        : "the outbox contract (sql/001_outbox_table.sql)";

    /// <summary>True when it comes from <c>Cdc:Outboxes</c>, false for the <c>Cdc:Table</c> shorthand.</summary>
    public required bool IsListed { get; init; }

    /// <summary>The setting that names this outbox's table.</summary>
    public string TableSetting => IsListed ? $"Cdc:Outboxes:{Name}:Table" : "Cdc:Table";

    /// <summary>The roles' columns that must exist, by role name.</summary>
    public IEnumerable<(string Role, string Column)> RequiredColumns =>
    [
        ("Id", IdColumn), ("AggregateType", AggregateTypeColumn), ("AggregateId", AggregateIdColumn),
        ("EventType", EventTypeColumn), ("Payload", PayloadColumn),
    ];

    /// <summary>
    /// Whether this outbox's topic template and <paramref name="other"/>'s can name the same topic: placeholders are
    /// read as "any text", so the answer errs on yes.
    /// </summary>
    public bool MayShareTopicWith(OutboxDefinition other)
    {
        static string Pattern(string template) =>
            template.Replace("{aggregate_type}", "\0", StringComparison.Ordinal).Replace("{event_type}", "\0", StringComparison.Ordinal);
        var a = Pattern(TopicTemplate);
        var b = Pattern(other.TopicTemplate);
        var memo = new Dictionary<(int, int), bool>();
        bool Meet(int i, int j)
        {
            if (memo.TryGetValue((i, j), out var known))
                return known;
            bool result;
            if (i == a.Length && j == b.Length)
                result = true;
            else if (i < a.Length && a[i] == '\0')
                result = Meet(i + 1, j) || (j < b.Length && Meet(i, j + 1));
            else if (j < b.Length && b[j] == '\0')
                result = Meet(i, j + 1) || (i < a.Length && Meet(i + 1, j));
            else
                result = i < a.Length && j < b.Length && a[i] == b[j] && Meet(i + 1, j + 1);
            return memo[(i, j)] = result;
        }
        return Meet(0, 0);
    }

    public override string ToString() => IsListed ? $"outbox '{Name}' ({Table})" : Table.ToString();

    /// <summary>Resolves the settings; <see cref="Validate"/> must have passed.</summary>
    public static IReadOnlyList<OutboxDefinition> From(CdcOptions options)
    {
        if (options.Outboxes.Count == 0)
        {
            OutboxTableName.TryParse(options.Table, out var table, out _);
            return [Resolve(DefaultName, 0, new OutboxOptions { Table = options.Table, TopicTemplate = options.TopicTemplate }, table, options, isListed: false)];
        }
        return options.Outboxes.OrderBy(o => o.Key, StringComparer.Ordinal)
            .Select((entry, index) =>
            {
                OutboxTableName.TryParse(entry.Value.Table, out var table, out _);
                return Resolve(entry.Key, index, entry.Value, table, options, isListed: true);
            })
            .ToList();
    }

    /// <summary>The rules of the outbox list that need no database: names, tables, columns, header names.</summary>
    public static IEnumerable<string> Validate(CdcOptions options, Func<string, bool> isReservedHeader)
    {
        if (options.Outboxes.Count == 0)
        {
            if (!OutboxTableName.TryParse(options.Table, out _, out var tableError))
                yield return $"Cdc:Table (env Cdc__Table) {tableError}.";
            yield break;
        }
        var tables = new Dictionary<OutboxTableName, string>();
        foreach (var (name, outbox) in options.Outboxes.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            var prefix = $"Cdc:Outboxes:{name}";
            var env = $"Cdc__Outboxes__{name}";
            if (name.Length == 0 || name.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-')))
                yield return $"{prefix}: the outbox name '{name}' may hold only ASCII letters, digits, '_' and '-'.";
            if (!Enum.IsDefined(outbox.Preset))
                yield return $"{prefix}:Preset (env {env}__Preset) must be Atlas or Debezium.";
            if (!OutboxTableName.TryParse(outbox.Table, out var table, out var tableError))
            {
                yield return $"{prefix}:Table (env {env}__Table) {tableError}.";
                continue;
            }
            if (tables.TryGetValue(table, out var other))
                yield return $"{prefix}:Table and Cdc:Outboxes:{other}:Table both name {table}: list each table once.";
            else
                tables[table] = name;
            foreach (var (column, header) in outbox.AdditionalHeaders)
            {
                if (string.IsNullOrWhiteSpace(header))
                    yield return $"{prefix}:AdditionalHeaders:{column} (env {env}__AdditionalHeaders__{column}) gives no header name.";
                else if (isReservedHeader(header))
                    yield return $"{prefix}:AdditionalHeaders:{column} (env {env}__AdditionalHeaders__{column}) names header '{header}', " +
                                 "which the relay writes itself (id, event_type, aggregate_type, atlas.*): choose another name.";
            }
        }
    }

    private static OutboxDefinition Resolve(string name, int index, OutboxOptions outbox, OutboxTableName table, CdcOptions options, bool isListed)
    {
        var debezium = outbox.Preset == OutboxPreset.Debezium;
        var columns = outbox.Columns;
        string Column(string given, string atlas, string debeziumName) =>
            given.Length > 0 ? given : debezium ? debeziumName : atlas;
        string? Optional(string given, string? atlas) =>
            given == "-" ? null : given.Length > 0 ? given : debezium ? null : atlas;
        return new OutboxDefinition
        {
            Name = name,
            Index = index,
            Table = table,
            Preset = outbox.Preset,
            IsListed = isListed,
            IdColumn = Column(columns.Id, "id", "id"),
            AggregateTypeColumn = Column(columns.AggregateType, "aggregate_type", "aggregatetype"),
            AggregateIdColumn = Column(columns.AggregateId, "aggregate_id", "aggregateid"),
            EventTypeColumn = Column(columns.EventType, "event_type", "type"),
            PayloadColumn = Column(columns.Payload, "payload", "payload"),
            HeadersColumn = Optional(columns.Headers, "headers"),
            CreatedAtColumn = Optional(columns.CreatedAt, "created_at"),
            TopicTemplate = outbox.TopicTemplate.Length > 0 ? outbox.TopicTemplate
                : debezium ? DebeziumTopicTemplate : options.TopicTemplate,
            NamedRoles = new HashSet<string>(
                new[] { ("Headers", columns.Headers), ("CreatedAt", columns.CreatedAt) }.Where(c => c.Item2.Length > 0 && c.Item2 != "-").Select(c => c.Item1)),
            AdditionalHeaders = [.. outbox.AdditionalHeaders.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => (h.Key, h.Value))],
            ValueFormat = outbox.ValueFormat ?? options.Value.Format,
            ValueFormatSetting = outbox.ValueFormat is null ? "Cdc:Value:Format" : $"Cdc:Outboxes:{name}:ValueFormat",
            SubjectTemplate = outbox.Subject.Length > 0 ? outbox.Subject : options.SchemaRegistry.Subject,
            DeadLetterTopic = outbox.DeadLetterTopic.Length > 0 ? outbox.DeadLetterTopic : options.DeadLetter.Topic,
            DeadLetterTopicSetting = outbox.DeadLetterTopic.Length > 0 ? $"Cdc:Outboxes:{name}:DeadLetterTopic" : "Cdc:DeadLetter:Topic",
            // Cdc:Retention:Enabled is the master switch; Debezium's tables are usually cleaned by their writers.
            RetentionEnabled = options.Retention.Enabled && outbox.Retention switch
            {
                OutboxRetentionMode.Enabled => true,
                OutboxRetentionMode.Disabled => false,
                _ => !debezium,
            },
        };
    }
}

namespace Atlas.Cdc.Configuration;

/// <summary>The shape an outbox table has, which decides the default column names and topic template.</summary>
public enum OutboxPreset
{
    /// <summary>The relay's contract (sql/001_outbox_table.sql): id, aggregate_type, aggregate_id, event_type, payload, headers, created_at.</summary>
    Atlas,

    /// <summary>
    /// Debezium's outbox event router defaults: id, aggregatetype, aggregateid, type, payload; topic
    /// <c>outbox.event.{aggregate_type}</c>; no headers or created-at column; outbox retention off (Debezium users
    /// clean the table themselves).
    /// </summary>
    Debezium,
}

/// <summary>
/// One outbox table of <c>Cdc:Outboxes:&lt;name&gt;</c>. Unset values come from the <see cref="Preset"/>; with no
/// <c>Cdc:Outboxes</c> at all, <c>Cdc:Table</c> and <c>Cdc:TopicTemplate</c> describe the one outbox, named <c>default</c>.
/// </summary>
public sealed class OutboxOptions
{
    /// <summary>Schema-qualified table name, e.g. <c>billing.outbox</c>.</summary>
    public string Table { get; set; } = "";

    public OutboxPreset Preset { get; set; } = OutboxPreset.Atlas;

    /// <summary>Topic name for this outbox's events; empty: the preset's (<c>Cdc:TopicTemplate</c> for Atlas).</summary>
    public string TopicTemplate { get; set; } = "";

    public OutboxColumnOptions Columns { get; set; } = new();

    /// <summary>
    /// Further columns carried as Kafka headers, column name to header name (Debezium's
    /// <c>table.fields.additional.placement</c> with <c>header</c>); values as PostgreSQL prints them.
    /// </summary>
    public Dictionary<string, string> AdditionalHeaders { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Outbox retention for this table: <c>Default</c> follows <c>Cdc:Retention:Enabled</c> (Atlas) or is off (Debezium).</summary>
    public OutboxRetentionMode Retention { get; set; } = OutboxRetentionMode.Default;

    /// <summary>How this outbox's message values are written; unset: <c>Cdc:Value:Format</c>.</summary>
    public ValueFormat? ValueFormat { get; set; }

    /// <summary>Subject of this outbox's value schemas (placeholders as <c>Cdc:SchemaRegistry:Subject</c>); empty: that setting.</summary>
    public string Subject { get; set; } = "";

    /// <summary>Where this outbox's refused events go; empty: <c>Cdc:DeadLetter:Topic</c>.</summary>
    public string DeadLetterTopic { get; set; } = "";
}

public enum OutboxRetentionMode
{
    Default,
    Enabled,
    Disabled,
}

/// <summary>Which column serves each role; empty: the preset's name.</summary>
public sealed class OutboxColumnOptions
{
    public string Id { get; set; } = "";

    public string AggregateType { get; set; } = "";

    public string AggregateId { get; set; } = "";

    public string EventType { get; set; } = "";

    public string Payload { get; set; } = "";

    /// <summary>Optional JSON object of headers; <c>-</c> for none.</summary>
    public string Headers { get; set; } = "";

    /// <summary>Optional insertion time, for retention by age and <c>replay --since/--until</c>; <c>-</c> for none.</summary>
    public string CreatedAt { get; set; } = "";
}

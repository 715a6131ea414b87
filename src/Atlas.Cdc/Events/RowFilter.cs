namespace Atlas.Cdc.Events;

/// <summary>Which outbox rows to read; every condition given must hold. An empty filter matches every row.</summary>
internal sealed record RowFilter
{
    /// <summary>
    /// Rows inserted by a transaction whose id is this or newer: the rows a delivery horizon does not prove
    /// delivered. Compared with <c>age()</c>, right for ids within 2^31 transactions of now (see OutboxRetention).
    /// </summary>
    public ulong? MinInsertingXid { get; init; }

    /// <summary>Only the outboxes of these names (<c>Cdc:Outboxes:&lt;name&gt;</c>); null: every outbox.</summary>
    public IReadOnlyCollection<string>? Outboxes { get; init; }

    /// <summary>created_at at or after this.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>created_at before this.</summary>
    public DateTimeOffset? Until { get; init; }

    public string? AggregateType { get; init; }

    public string? AggregateId { get; init; }

    /// <summary>Only these event ids (empty: no condition).</summary>
    public IReadOnlyCollection<Guid> Ids { get; init; } = [];
}

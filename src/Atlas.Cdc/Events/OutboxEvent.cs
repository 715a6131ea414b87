namespace Atlas.Cdc.Events;

/// <summary>
/// One outbox row as decoded from the WAL, kept as the UTF-8 bytes PostgreSQL sent so that payloads go to Kafka
/// without a string round-trip.
/// </summary>
internal sealed class OutboxEvent
{
    /// <summary>The row's uuid as text; the <c>id</c> header consumers de-duplicate on.</summary>
    public required byte[] Id { get; init; }

    public required string AggregateType { get; init; }

    /// <summary>
    /// <see cref="AggregateType"/> as UTF-8, the <c>aggregate_type</c> header's value. The decoder sets an array shared
    /// by every event of the type (never written to); rows read from the table encode it when first asked.
    /// </summary>
    public byte[] AggregateTypeBytes
    {
        get => _aggregateTypeBytes ??= System.Text.Encoding.UTF8.GetBytes(AggregateType);
        init => _aggregateTypeBytes = value;
    }

    private byte[]? _aggregateTypeBytes;

    public required byte[] AggregateId { get; init; }

    /// <summary>The event type as UTF-8; the decoder shares one array per distinct value (never written to).</summary>
    public required byte[] EventType { get; init; }

    /// <summary>The payload's JSON text as PostgreSQL renders the jsonb.</summary>
    public required byte[] Payload { get; init; }

    /// <summary>The <c>headers</c> column's JSON text, or null when the column is SQL NULL or absent.</summary>
    public byte[]? Headers { get; init; }

    /// <summary>Column problems found while decoding (a NULL where a value is required); the event is dead-lettered.</summary>
    public string? DecodeError { get; init; }

    /// <summary>The outbox table the event was written to; null only in tests that build events by hand.</summary>
    public OutboxDefinition? Outbox { get; init; }

    /// <summary>The position of <see cref="Outbox"/> in the catalog, for per-outbox state kept in arrays; 0 (the first) without one.</summary>
    public int OutboxIndex => Outbox?.Index ?? 0;

    /// <summary>Values of the outbox's additional header columns, in <see cref="OutboxDefinition.AdditionalHeaders"/> order (null: SQL NULL).</summary>
    public byte[]?[]? AdditionalHeaders { get; init; }

    /// <summary>Where the event was read: the replication stream, or the outbox table (backfill, recovery, replay).</summary>
    public EventOrigin Origin { get; init; }

    public string IdText => System.Text.Encoding.UTF8.GetString(Id);

    /// <summary>Approximate memory held while the event is in flight, for backpressure.</summary>
    public int Size => Id.Length + AggregateId.Length + EventType.Length + Payload.Length + (Headers?.Length ?? 0) + AggregateType.Length;
}

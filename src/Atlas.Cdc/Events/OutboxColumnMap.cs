namespace Atlas.Cdc.Events;

/// <summary>Where each role's column sits in an outbox relation as pgoutput describes it.</summary>
internal sealed class OutboxColumnMap
{
    /// <summary>PostgreSQL's type oid of bytea: its text form is hex (<c>\x...</c>), published as the bytes stored.</summary>
    public const uint ByteaTypeOid = 17;

    private OutboxColumnMap(OutboxDefinition outbox, int columnCount, int id, int aggregateType, int aggregateId, int eventType,
        int payload, bool payloadIsBytea, int headers, int[] additionalHeaders)
    {
        Outbox = outbox;
        ColumnCount = columnCount;
        Id = id;
        AggregateType = aggregateType;
        AggregateId = aggregateId;
        EventType = eventType;
        Payload = payload;
        PayloadIsBytea = payloadIsBytea;
        Headers = headers;
        AdditionalHeaders = additionalHeaders;
    }

    public OutboxDefinition Outbox { get; }
    public int ColumnCount { get; }
    public int Id { get; }
    public int AggregateType { get; }
    public int AggregateId { get; }
    public int EventType { get; }
    public int Payload { get; }
    public bool PayloadIsBytea { get; }

    /// <summary>Index of the optional headers column, or -1.</summary>
    public int Headers { get; }

    /// <summary>Column index of each of <see cref="OutboxDefinition.AdditionalHeaders"/>, in its order.</summary>
    public int[] AdditionalHeaders { get; }

    /// <summary>
    /// Builds the map from the relation's columns; throws a fatal error naming the outbox, table and column when a
    /// mapped column is missing (start-up checks say so first; this covers a table altered while the relay runs).
    /// </summary>
    public static OutboxColumnMap Create(IReadOnlyList<string> columnNames, IReadOnlyList<uint> columnTypes, OutboxDefinition outbox)
    {
        int IndexOf(string? name, string role, bool required)
        {
            if (name is null)
                return -1;
            for (var i = 0; i < columnNames.Count; i++)
                if (columnNames[i] == name)
                    return i;
            if (required)
                throw new FatalConfigurationException(
                    $"Outbox table {outbox.Table} has no column '{name}' for {role} (set by {outbox.ColumnSetting(role)}).");
            return -1;
        }

        var payload = IndexOf(outbox.PayloadColumn, "Payload", true);
        return new OutboxColumnMap(
            outbox,
            columnNames.Count,
            IndexOf(outbox.IdColumn, "Id", true),
            IndexOf(outbox.AggregateTypeColumn, "AggregateType", true),
            IndexOf(outbox.AggregateIdColumn, "AggregateId", true),
            IndexOf(outbox.EventTypeColumn, "EventType", true),
            payload,
            columnTypes[payload] == ByteaTypeOid,
            IndexOf(outbox.HeadersColumn, "Headers", false),
            [.. outbox.AdditionalHeaders.Select(h => IndexOf(h.Column, $"AdditionalHeaders:{h.Column}", true))]);
    }
}

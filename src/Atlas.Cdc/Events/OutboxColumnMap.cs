namespace Atlas.Cdc.Events;

/// <summary>Where each contract column sits in the outbox relation as pgoutput describes it.</summary>
internal sealed class OutboxColumnMap
{
    public const string IdColumn = "id";
    public const string AggregateTypeColumn = "aggregate_type";
    public const string AggregateIdColumn = "aggregate_id";
    public const string EventTypeColumn = "event_type";
    public const string PayloadColumn = "payload";
    public const string HeadersColumn = "headers";

    public static readonly string[] RequiredColumns = [IdColumn, AggregateTypeColumn, AggregateIdColumn, EventTypeColumn, PayloadColumn];

    private OutboxColumnMap(int columnCount, int id, int aggregateType, int aggregateId, int eventType, int payload, int headers)
    {
        ColumnCount = columnCount;
        Id = id;
        AggregateType = aggregateType;
        AggregateId = aggregateId;
        EventType = eventType;
        Payload = payload;
        Headers = headers;
    }

    public int ColumnCount { get; }
    public int Id { get; }
    public int AggregateType { get; }
    public int AggregateId { get; }
    public int EventType { get; }
    public int Payload { get; }

    /// <summary>Index of the optional headers column, or -1.</summary>
    public int Headers { get; }

    public static bool Matches(string schema, string name, OutboxTableName table) =>
        schema == table.Schema && name == table.Name;

    /// <summary>Builds the map from the relation's column names; throws a fatal error naming the table and column when one is missing.</summary>
    public static OutboxColumnMap Create(IReadOnlyList<string> columnNames, OutboxTableName table)
    {
        int IndexOf(string name, bool required)
        {
            for (var i = 0; i < columnNames.Count; i++)
                if (columnNames[i] == name)
                    return i;
            if (required)
                throw new FatalConfigurationException(
                    $"Outbox table {table} has no column '{name}'. The relay needs the columns {string.Join(", ", RequiredColumns)} (see sql/001_outbox_table.sql).");
            return -1;
        }

        return new OutboxColumnMap(
            columnNames.Count,
            IndexOf(IdColumn, true),
            IndexOf(AggregateTypeColumn, true),
            IndexOf(AggregateIdColumn, true),
            IndexOf(EventTypeColumn, true),
            IndexOf(PayloadColumn, true),
            IndexOf(HeadersColumn, false));
    }
}

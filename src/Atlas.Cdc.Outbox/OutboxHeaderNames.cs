namespace Atlas.Cdc.Outbox;

/// <summary>
/// The Kafka header names the relay writes itself. The writer refuses them in an event's headers and the relay drops
/// them from a row's <c>headers</c> column, both by this one rule, so the relay's own headers stay trustworthy.
/// </summary>
public static class OutboxHeaderNames
{
    /// <summary>True for <c>id</c>, <c>event_type</c>, <c>aggregate_type</c> and every name starting with <c>atlas.</c>.</summary>
    /// <param name="name">A header name as the row's <c>headers</c> object holds it.</param>
    public static bool IsReserved(string name) =>
        name is "id" or "event_type" or "aggregate_type" || name.StartsWith("atlas.", StringComparison.Ordinal);
}

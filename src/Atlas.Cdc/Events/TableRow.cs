namespace Atlas.Cdc.Events;

/// <summary>An outbox row read through SQL, with the commit time it is published with.</summary>
internal readonly record struct TableRow(OutboxEvent Event, DateTimeOffset CommitTime);

using Atlas.Cdc.Events;

namespace Atlas.Cdc.Mapping;

/// <summary>Names of the Kafka headers the relay writes; docs/consuming.md lists them.</summary>
internal static class MessageHeaders
{
    public const string Id = "id";
    public const string EventType = "event_type";
    public const string AggregateType = "aggregate_type";

    /// <summary>LSN of the transaction's commit record, PostgreSQL's text form (e.g. <c>0/16B3748</c>).</summary>
    public const string CommitLsn = "atlas.commit_lsn";

    /// <summary>Commit time, RFC 3339 in UTC with microseconds.</summary>
    public const string CommitTime = "atlas.commit_time";

    /// <summary>The raw <c>headers</c> column when it holds JSON that is not an object (array, string, number).</summary>
    public const string RawHeaders = "atlas.headers";

    /// <summary><c>true</c> on events read from the outbox table by a first-start backfill or a slot recovery.</summary>
    public const string Snapshot = "atlas.snapshot";

    /// <summary><c>true</c> on events published again by the <c>replay</c> command.</summary>
    public const string Replayed = "atlas.replayed";

    /// <summary>The header that marks an event of this origin, or null for events decoded from the slot.</summary>
    public static string? ForOrigin(EventOrigin origin) => origin switch
    {
        EventOrigin.Snapshot => Snapshot,
        EventOrigin.Replay => Replayed,
        _ => null,
    };

    public const string DeadLetterOriginalTopic = "atlas.dlq.original_topic";
    public const string DeadLetterReason = "atlas.dlq.reason";
    public const string DeadLetterPayloadBytes = "atlas.dlq.payload_bytes";

    /// <summary>Comma-separated fields of a dead letter cut to 4 KB (key, event_type, aggregate_type, atlas.dlq.*); absent when none.</summary>
    public const string DeadLetterTruncated = "atlas.dlq.truncated";

    /// <summary>Row header entries with these names are dropped (with a warning) so the relay's own stay trustworthy.</summary>
    public static bool IsReserved(string name) => Outbox.OutboxHeaderNames.IsReserved(name);
}

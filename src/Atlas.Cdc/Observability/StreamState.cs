namespace Atlas.Cdc.Observability;

/// <summary>What the relay is doing; exported as <c>atlas_cdc_stream_state{state="..."}</c>.</summary>
public enum StreamState
{
    Starting,

    /// <summary>Publishing rows from the outbox table (first-start backfill, or recovery of a lost slot) before streaming.</summary>
    Backfilling,

    /// <summary>Reading the slot and publishing.</summary>
    Streaming,

    /// <summary>Another relay holds the slot; this one keeps trying to take it over.</summary>
    Standby,

    /// <summary>A transient failure (PostgreSQL or Kafka); waiting to reconnect.</summary>
    Reconnecting,

    Stopped,
}

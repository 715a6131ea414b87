namespace Atlas.Cdc.Configuration;

/// <summary>
/// Every setting of the relay, bound from the <c>Cdc</c> configuration section
/// (appsettings.json, then environment variables such as <c>Cdc__Slot</c>).
/// Defaults live here and nowhere else; docs/operations.md's settings table mirrors this file (DocumentationTests check it).
/// </summary>
public sealed class CdcOptions
{
    public const string SectionName = "Cdc";

    public PostgresOptions Postgres { get; set; } = new();

    public KafkaOptions Kafka { get; set; } = new();

    public HttpOptions Http { get; set; } = new();

    public DeadLetterOptions DeadLetter { get; set; } = new();

    public RetentionOptions Retention { get; set; } = new();

    public ValueOptions Value { get; set; } = new();

    public SchemaRegistryOptions SchemaRegistry { get; set; } = new();

    public CloudEventsOptions CloudEvents { get; set; } = new();

    public TracingOptions Tracing { get; set; } = new();

    /// <summary>Logical replication slot the relay owns; created with pgoutput when missing.</summary>
    public string Slot { get; set; } = "atlas_cdc";

    /// <summary>Publication decoded by the slot; <c>sql/002_publication.sql</c> creates it.</summary>
    public string Publication { get; set; } = "atlas_cdc_outbox";

    /// <summary>Outbox table, schema-qualified: the one outbox when <see cref="Outboxes"/> is empty.</summary>
    public string Table { get; set; } = "public.outbox";

    /// <summary>Several outbox tables relayed through the one slot, by name; when set, <see cref="Table"/> is not used.</summary>
    public Dictionary<string, OutboxOptions> Outboxes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Topic name; <c>{aggregate_type}</c> and <c>{event_type}</c> are replaced per event.</summary>
    public string TopicTemplate { get; set; } = "outbox.event.{aggregate_type}";

    /// <summary>How often the acknowledged position is confirmed to PostgreSQL.</summary>
    public TimeSpan ConfirmInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Backpressure: reading pauses while this many events are unacknowledged.</summary>
    public int MaxInFlightEvents { get; set; } = 50_000;

    /// <summary>Backpressure: reading pauses while this many payload bytes are unacknowledged.</summary>
    public long MaxInFlightBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>On SIGTERM, how long to wait for in-flight acknowledgements before exiting.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>First delay before reconnecting after a transient failure; doubles up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a standby retries to take the slot while another relay holds it.</summary>
    public TimeSpan StandbyRetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// First start (no slot, no recorded progress): <see cref="SnapshotMode.Initial"/> publishes the rows already in
    /// the outbox before streaming; <see cref="SnapshotMode.Never"/> starts at the current WAL position.
    /// </summary>
    public SnapshotMode Snapshot { get; set; } = SnapshotMode.Initial;
}

public enum SnapshotMode
{
    /// <summary>Create the slot with an exported snapshot and publish every row visible in it, then stream.</summary>
    Initial,

    /// <summary>Create the slot and stream from there: rows written before the first start are not relayed.</summary>
    Never,
}

public sealed class PostgresOptions
{
    /// <summary>Npgsql connection string of a role with REPLICATION (see sql/003_roles.sql).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>How often slot lag and retained WAL are read from pg_replication_slots for metrics.</summary>
    public TimeSpan SlotStatsInterval { get; set; } = TimeSpan.FromSeconds(5);
}

public sealed class KafkaOptions
{
    public string BootstrapServers { get; set; } = "";

    /// <summary>
    /// librdkafka properties passed to the producer as they are (TLS, SASL, compression, linger...).
    /// They override the relay's defaults, except the ones that guarantee ordering and delivery.
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The relay reports not ready when the oldest unacknowledged event is older than this.</summary>
    public TimeSpan UnhealthyAfter { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class HttpOptions
{
    /// <summary>Where /healthz, /readyz and /metrics listen.</summary>
    public string Url { get; set; } = "http://0.0.0.0:8080";
}

public enum DeadLetterPolicy
{
    /// <summary>An event Kafka refuses for good goes to the dead-letter topic and the stream goes on.</summary>
    DeadLetter,

    /// <summary>An event Kafka refuses for good stops the relay without confirming it.</summary>
    Halt,
}

public sealed class DeadLetterOptions
{
    public DeadLetterPolicy Policy { get; set; } = DeadLetterPolicy.DeadLetter;

    public string Topic { get; set; } = "atlas_cdc.dlq";
}

/// <summary>
/// Outbox retention: the relay deletes rows whose events Kafka acknowledged and the slot confirmed, once they are
/// older than <see cref="Age"/> (see Retention/OutboxRetention.cs for why a deleted row is always a delivered one).
/// </summary>
public sealed class RetentionOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Rows younger than this (by created_at) are kept even when delivered; zero deletes as soon as confirmed. A day
    /// leaves time to rescue a dead-lettered event whose payload was too large for the dead-letter topic: its row
    /// is then the only full copy.
    /// </summary>
    public TimeSpan Age { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Rows deleted per statement (one short transaction each).</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>How often the relay looks for rows to delete.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);
}

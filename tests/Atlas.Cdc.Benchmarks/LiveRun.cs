namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// One relay under the live load for one window: commit-to-consumer latency, its own CPU, the CPU of its database
/// backend (walsender or polling connection), the statements it ran, and the source floor of the same rows.
/// </summary>
internal sealed record LiveRun(DateTimeOffset Since, long Committed, LatencyStats Latency, double? ProcessCpuSeconds, double? BackendCpuSeconds,
    StatementLoad Statements, TableLoad Table)
{
    /// <summary>The relay's own view, commit to Kafka's acknowledgement, over this window (its histogram; null for the polling relay).</summary>
    public PrometheusHistogram? RelayHistogram { get; init; }

    /// <summary>The part of <see cref="ProcessCpuSeconds"/> spent on librdkafka's own threads (<see cref="LibrdkafkaThreadCpu"/>).</summary>
    public double? ProducerThreadsCpuSeconds { get; init; }

    /// <summary>How long after the relay process's start the window's load began.</summary>
    public TimeSpan? StartedAfter { get; init; }

    /// <summary>pg_recvlogical on a second slot seeing the same rows in the same window (no Kafka): the latency floor.</summary>
    public LatencyStats? SourceFloor { get; init; }

    /// <summary>That pg_recvlogical's CPU over the window.</summary>
    public double? SourceFloorCpuSeconds { get; init; }

    public long Missing => Committed - Latency.Count;

    public double? CpuMicrosecondsPerEvent => ProcessCpuSeconds * 1e6 / Committed;

    public double? SourceFloorMicrosecondsPerEvent => SourceFloorCpuSeconds * 1e6 / Committed;
}

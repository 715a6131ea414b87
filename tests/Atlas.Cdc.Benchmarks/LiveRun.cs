namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// One relay under the live load: commit-to-consumer latency, its own CPU, the CPU of its database backend
/// (walsender or polling connection), and the statements it ran.
/// </summary>
internal sealed record LiveRun(DateTimeOffset Since, long Committed, LatencyStats Latency, double? ProcessCpuSeconds, double? BackendCpuSeconds,
    StatementLoad Statements, TableLoad Table)
{
    /// <summary>The relay's own view, commit to Kafka's acknowledgement (its histogram; null for the polling relay).</summary>
    public PrometheusHistogram? RelayHistogram { get; init; }

    /// <summary>The part of <see cref="ProcessCpuSeconds"/> spent on librdkafka's own threads (<see cref="LibrdkafkaThreadCpu"/>).</summary>
    public double? ProducerThreadsCpuSeconds { get; init; }

    public long Missing => Committed - Latency.Count;
}

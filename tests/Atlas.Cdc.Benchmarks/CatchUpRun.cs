namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// One relay run over the catch-up backlog, with the pg_recvlogical run of the same round. Times are since the
/// process was started: <see cref="StreamStart"/> when its walsender took the slot (start-up done),
/// <see cref="FirstAck"/> the first acknowledgement, <see cref="Elapsed"/> the last.
/// </summary>
internal sealed record CatchUpRun(int Round, string Variant, long Events, TimeSpan RecvLogical, TimeSpan Elapsed, TimeSpan StreamStart,
    TimeSpan FirstAck, double? RelayCpuSeconds, double? WalsenderCpuSeconds, long? PeakRss)
{
    /// <summary>From taking the slot to the last acknowledgement: the relay's streaming time, start-up excluded.</summary>
    public TimeSpan Streaming => Elapsed - StreamStart;

    public double RecvLogicalRate => Events / RecvLogical.TotalSeconds;

    /// <summary>From process start to the last acknowledgement, nothing subtracted.</summary>
    public double Rate => Events / Elapsed.TotalSeconds;

    public double StreamingRate => Events / Streaming.TotalSeconds;

    public double Ratio => Rate / RecvLogicalRate;

    public double StreamingRatio => StreamingRate / RecvLogicalRate;

    /// <summary>
    /// The relay process's CPU time per event delivered, in microseconds: every thread of the process from its start
    /// (host, checks, connections, JIT) to Kafka's acknowledgement of the last event.
    /// </summary>
    public double? CpuMicrosecondsPerEvent => RelayCpuSeconds * 1e6 / Events;

    /// <summary>pg_recvlogical's CPU in the same round, from its start to its exit (row 1d; row 1 has it in its client floor).</summary>
    public double? RecvLogicalCpuSeconds { get; init; }

    public double? RecvLogicalMicrosecondsPerEvent => RecvLogicalCpuSeconds * 1e6 / Events;

    /// <summary>The relay's CPU when its walsender took the slot: start-up (host, checks, connections), before any event.</summary>
    public double? StartupCpuSeconds { get; init; }

    /// <summary>The relay's CPU from the last acknowledgement to its exit (SIGTERM, drain, confirm): not in <see cref="RelayCpuSeconds"/>.</summary>
    public double? ShutdownCpuSeconds { get; init; }

    /// <summary>CPU per event with start-up left out: what each further event of a longer catch-up costs.</summary>
    public double? StreamingCpuMicrosecondsPerEvent => (RelayCpuSeconds - StartupCpuSeconds) * 1e6 / Events;

    /// <summary>The part of <see cref="RelayCpuSeconds"/> spent on librdkafka's own threads (<see cref="LibrdkafkaThreadCpu"/>).</summary>
    public double? ProducerThreadsCpuSeconds { get; init; }

    public double? ProducerThreadsMicrosecondsPerEvent => ProducerThreadsCpuSeconds * 1e6 / Events;

    /// <summary>CPU of the mock brokers (in the benchmark's process) while this relay ran: theirs, not the relay's.</summary>
    public double? BrokerCpuSeconds { get; init; }

    /// <summary>CPU time per event of the walsender serving the relay (PostgreSQL decoding and sending), in microseconds.</summary>
    public double? WalsenderMicrosecondsPerEvent => WalsenderCpuSeconds * 1e6 / Events;
}

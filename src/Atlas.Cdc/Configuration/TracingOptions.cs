namespace Atlas.Cdc.Configuration;

/// <summary>
/// Tracing (<c>Cdc:Tracing</c>): one OpenTelemetry producer span per event, exported over OTLP. The exporter, the
/// service name, the sampler and the resource are configured by the standard <c>OTEL_*</c> variables, which the
/// OpenTelemetry SDK reads itself.
/// </summary>
public sealed class TracingOptions
{
    /// <summary>Off by default: without it the SDK is not started and the relay makes no span.</summary>
    public bool Enabled { get; set; }

    /// <summary>Which <c>traceparent</c> the Kafka record carries; see <see cref="TracePropagation"/>.</summary>
    public TracePropagation Propagation { get; set; } = TracePropagation.Relay;

    /// <summary>
    /// Rows without a (valid) <c>traceparent</c> get no span unless this is true; then each gets a root span,
    /// kept or dropped by the sampler.
    /// </summary>
    public bool RootSpans { get; set; }
}

/// <summary>The trace context a consumer finds in the Kafka record's <c>traceparent</c> and <c>tracestate</c> headers.</summary>
public enum TracePropagation
{
    /// <summary>The relay span's: a consumer's span is a child of the relay's, which is a child of the writer's.</summary>
    Relay,

    /// <summary>The row's, copied as it is (the relay's behaviour without tracing): a consumer's span is a child of the writer's.</summary>
    PassThrough,
}

using System.Globalization;

namespace Atlas.Cdc.Sandbox.Otlp;

/// <summary>One span as <see cref="OtlpTraceReceiver"/> decoded it from an OTLP export, with its resource and scope.</summary>
/// <param name="TraceId">32 lowercase hex digits.</param>
/// <param name="SpanId">16 lowercase hex digits.</param>
/// <param name="ParentSpanId">16 lowercase hex digits; null for a root span.</param>
/// <param name="TraceState">The W3C <c>tracestate</c>; empty when none.</param>
/// <param name="Flags">The span's W3C trace flags (bit 0: sampled) and OTLP's parent-is-remote bits (8 and 9).</param>
/// <param name="Name">Span name.</param>
/// <param name="Kind">Internal, Server, Client, Producer, Consumer (or Unspecified).</param>
/// <param name="StartUnixNanos">Start, nanoseconds since the Unix epoch.</param>
/// <param name="EndUnixNanos">End, nanoseconds since the Unix epoch.</param>
/// <param name="Attributes">The span's attributes: string, bool, long, double, byte[] or object?[] (arrays) values.</param>
/// <param name="StatusCode">Unset, Ok or Error.</param>
/// <param name="StatusMessage">The status description; empty when none.</param>
/// <param name="Links">Links to other spans.</param>
/// <param name="ScopeName">The instrumentation scope (the ActivitySource's name in .NET).</param>
/// <param name="Resource">The resource's attributes, e.g. <c>service.name</c>.</param>
public sealed record ReceivedSpan(
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string TraceState,
    uint Flags,
    string Name,
    string Kind,
    ulong StartUnixNanos,
    ulong EndUnixNanos,
    IReadOnlyDictionary<string, object?> Attributes,
    string StatusCode,
    string StatusMessage,
    IReadOnlyList<ReceivedSpanLink> Links,
    string ScopeName,
    IReadOnlyDictionary<string, object?> Resource)
{
    /// <summary>The start as a time (100 ns precision).</summary>
    public DateTimeOffset Start => FromUnixNanos(StartUnixNanos);

    /// <summary>The end as a time (100 ns precision).</summary>
    public DateTimeOffset End => FromUnixNanos(EndUnixNanos);

    /// <summary>The attribute's value as text (invariant culture); null when absent.</summary>
    /// <param name="name">Attribute name.</param>
    public string? Attribute(string name) => Attributes.TryGetValue(name, out var value)
        ? Convert.ToString(value, CultureInfo.InvariantCulture)
        : null;

    /// <summary>The <c>traceparent</c> a consumer would receive for this span (version 00, its trace flags).</summary>
    public string TraceParent => $"00-{TraceId}-{SpanId}-{Flags & 0xFF:x2}";

    /// <summary>One line for failure messages: ids, name, kind, times, status and attributes.</summary>
    public override string ToString() =>
        $"{Name} ({Kind}) trace {TraceId} span {SpanId} parent {ParentSpanId ?? "none"} " +
        $"{Start:HH:mm:ss.ffffff}..{End:HH:mm:ss.ffffff} status {StatusCode}{(StatusMessage.Length > 0 ? $" '{StatusMessage}'" : "")} " +
        $"links [{string.Join(", ", Links)}] {{{string.Join(", ", Attributes.Select(a => $"{a.Key}={Convert.ToString(a.Value, CultureInfo.InvariantCulture)}"))}}}";

    private static DateTimeOffset FromUnixNanos(ulong nanos) => DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));
}

/// <summary>A span's link to another span.</summary>
/// <param name="TraceId">32 lowercase hex digits.</param>
/// <param name="SpanId">16 lowercase hex digits.</param>
/// <param name="TraceState">The linked context's <c>tracestate</c>; empty when none.</param>
public sealed record ReceivedSpanLink(string TraceId, string SpanId, string TraceState)
{
    /// <inheritdoc/>
    public override string ToString() => $"{TraceId}/{SpanId}";
}

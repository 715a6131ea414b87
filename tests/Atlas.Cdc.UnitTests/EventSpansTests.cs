using System.Diagnostics;
using System.Text;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Tracing;
using Confluent.Kafka;

namespace Atlas.Cdc.UnitTests;

/// <summary>
/// The span per event, seen through a real <see cref="ActivityListener"/> on the relay's source (what the OpenTelemetry
/// SDK subscribes). Tests of this class run one at a time, and no other unit test listens to the source.
/// </summary>
public class EventSpansTests
{
    private const string WriterTraceId = "0af7651916cd43dd8448eb211c80319c";
    private const string WriterSpanId = "b7ad6b7169203331";
    private const string WriterTraceParent = $"00-{WriterTraceId}-{WriterSpanId}-01";
    private const string Topic = "outbox.event.Order";

    private static readonly DateTimeOffset s_commitTime = new(2026, 11, 22, 5, 3, 0, 123, 456, TimeSpan.Zero);

    private static OutboxEvent Event(string? headers = $$"""{"traceparent": "{{WriterTraceParent}}", "tracestate": "shop=1"}""",
        EventOrigin origin = EventOrigin.Stream) => new()
    {
        Id = Encoding.UTF8.GetBytes("7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10"),
        AggregateType = "Order",
        AggregateId = Encoding.UTF8.GetBytes("order-42"),
        EventType = Encoding.UTF8.GetBytes("OrderPlaced"),
        Payload = Encoding.UTF8.GetBytes("""{"total": 10}"""),
        Headers = headers is null ? null : Encoding.UTF8.GetBytes(headers),
        Origin = origin,
    };

    private static TrackedTransaction Transaction() => new AcknowledgementTracker(10, 1000).Begin(0x16B3748, s_commitTime);

    private static EventSpans Spans(TracePropagation propagation = TracePropagation.Relay, bool rootSpans = false) =>
        EventSpans.Create(new TracingOptions { Enabled = true, Propagation = propagation, RootSpans = rootSpans })!;

    private static Message<byte[]?, byte[]?> Message(string? traceParent = WriterTraceParent, string? traceState = "shop=1")
    {
        var headers = new Headers { { "id", "x"u8.ToArray() } };
        if (traceParent is not null)
            headers.Add("traceparent", Encoding.UTF8.GetBytes(traceParent));
        if (traceState is not null)
            headers.Add("tracestate", Encoding.UTF8.GetBytes(traceState));
        headers.Add("baggage", "tenant=acme"u8.ToArray());
        return new Message<byte[]?, byte[]?> { Value = new byte[13], Headers = headers };
    }

    private static List<string> HeaderNames(Message<byte[]?, byte[]?> message) => [.. message.Headers.Select(h => h.Key)];

    private static string? Header(Message<byte[]?, byte[]?> message, string name) =>
        message.Headers.TryGetLastBytes(name, out var value) && value is not null ? Encoding.UTF8.GetString(value) : null;

    [Fact]
    public void Tracing_off_gives_no_spans_at_all()
    {
        Assert.Null(EventSpans.Create(new TracingOptions()));
    }

    [Fact]
    public void Without_a_listener_a_span_is_not_started_and_nothing_is_allocated()
    {
        var spans = Spans(rootSpans: true);
        var outboxEvent = Event();
        var transaction = Transaction();
        Assert.Null(spans.Start(outboxEvent, transaction, Topic)); // also warms up

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            spans.Start(outboxEvent, transaction, Topic);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_streamed_event_s_span_is_a_child_of_the_row_s_context_and_starts_at_the_commit_time()
    {
        using var recorder = new SpanRecorder();
        var span = Spans().Start(Event(), Transaction(), Topic);

        Assert.NotNull(span);
        Assert.Equal($"publish {Topic}", span.DisplayName);
        Assert.Equal(ActivityKind.Producer, span.Kind);
        Assert.Equal(RelayActivitySource.Name, span.Source.Name);
        Assert.Equal(WriterTraceId, span.TraceId.ToHexString());
        Assert.Equal(WriterSpanId, span.ParentSpanId.ToHexString());
        Assert.True(span.HasRemoteParent);
        Assert.Equal("shop=1", span.TraceStateString);
        Assert.Empty(span.Links);
        Assert.Equal(s_commitTime.UtcDateTime, span.StartTimeUtc);
        Assert.Equal(new Dictionary<string, string?>
        {
            ["messaging.system"] = "kafka",
            ["messaging.operation.type"] = "publish",
            ["messaging.destination.name"] = Topic,
            ["messaging.operation.name"] = "publish",
            ["messaging.message.id"] = "7d3c5c4e-0f55-4a51-9d8a-1b2f7c3e9a10",
            ["messaging.kafka.message.key"] = "order-42",
            ["atlas.origin"] = "stream",
        }, span.TagObjects.ToDictionary(t => t.Key, t => t.Value?.ToString()));
        Assert.False(span.IsStopped);
    }

    [Fact]
    public void Starting_a_span_leaves_the_current_activity_as_it_was()
    {
        using var recorder = new SpanRecorder();
        using var outer = new Activity("publishing loop").Start();

        var streamed = Spans(rootSpans: true).Start(Event(), Transaction(), Topic);
        var root = Spans(rootSpans: true).Start(Event(headers: null), Transaction(), Topic);

        Assert.Same(outer, Activity.Current);
        Assert.Equal(WriterTraceId, streamed!.TraceId.ToHexString()); // the row's context, not the current activity
        Assert.Equal(default, root!.ParentSpanId);                     // a root, not a child of the current activity
        Assert.NotEqual(outer.TraceId, root.TraceId);
    }

    [Fact]
    public void In_relay_mode_the_record_carries_the_span_s_traceparent_and_the_row_s_tracestate()
    {
        using var recorder = new SpanRecorder();
        var spans = Spans(TracePropagation.Relay);
        var span = spans.Start(Event(), Transaction(), Topic)!;
        var message = Message();

        spans.Sending(span, message);

        Assert.Equal($"00-{WriterTraceId}-{span.SpanId.ToHexString()}-01", Header(message, "traceparent"));
        Assert.Equal(span.Id, Header(message, "traceparent"));
        Assert.Equal("shop=1", Header(message, "tracestate"));
        Assert.Equal(["id", "baggage", "traceparent", "tracestate"], HeaderNames(message));
        Assert.Equal(13, span.GetTagItem("messaging.message.body.size"));
    }

    [Fact]
    public void In_pass_through_mode_the_record_keeps_the_row_s_headers()
    {
        using var recorder = new SpanRecorder();
        var spans = Spans(TracePropagation.PassThrough);
        var span = spans.Start(Event(), Transaction(), Topic)!;
        var message = Message();

        spans.Sending(span, message);

        Assert.Equal(WriterTraceParent, Header(message, "traceparent"));
        Assert.Equal(["id", "traceparent", "tracestate", "baggage"], HeaderNames(message));
        Assert.Equal(WriterSpanId, span.ParentSpanId.ToHexString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("""{"tenant": "acme"}""")]
    [InlineData("""{"traceparent": "t-1"}""")]
    [InlineData("""["not", "an", "object"]""")]
    public void A_row_without_a_valid_traceparent_gets_no_span_unless_root_spans_are_on(string? headers)
    {
        using var recorder = new SpanRecorder();
        Assert.Null(Spans(rootSpans: false).Start(Event(headers), Transaction(), Topic));

        var spans = Spans(TracePropagation.Relay, rootSpans: true);
        var root = spans.Start(Event(headers), Transaction(), Topic);
        Assert.NotNull(root);
        Assert.Equal(default, root.ParentSpanId);
        Assert.Empty(root.Links);
        var message = Message(traceParent: null, traceState: null);
        spans.Sending(root, message);
        Assert.Equal(root.Id, Header(message, "traceparent"));
        Assert.Null(Header(message, "tracestate"));
    }

    [Theory]
    [InlineData((int)EventOrigin.Snapshot, "snapshot")]
    [InlineData((int)EventOrigin.Replay, "replay")]
    public void An_event_read_from_the_table_starts_a_trace_of_its_own_linked_to_the_row_s(int originValue, string name)
    {
        var origin = (EventOrigin)originValue;
        using var recorder = new SpanRecorder();
        var spans = Spans(TracePropagation.Relay);
        var before = DateTime.UtcNow;
        var span = spans.Start(Event(origin: origin), Transaction(), Topic)!;

        Assert.Equal(default, span.ParentSpanId);
        Assert.NotEqual(WriterTraceId, span.TraceId.ToHexString());
        var link = Assert.Single(span.Links);
        Assert.Equal(WriterTraceId, link.Context.TraceId.ToHexString());
        Assert.Equal(WriterSpanId, link.Context.SpanId.ToHexString());
        Assert.Equal("shop=1", link.Context.TraceState);
        Assert.Equal(name, span.GetTagItem("atlas.origin"));
        Assert.Equal("2026-11-22T05:03:00.123456Z", span.GetTagItem("atlas.commit_time"));
        Assert.InRange(span.StartTimeUtc, before, DateTime.UtcNow); // when it was read: its commit may be days old

        var message = Message();
        spans.Sending(span, message);
        Assert.Equal(span.Id, Header(message, "traceparent"));
        Assert.Null(Header(message, "tracestate")); // the row's tracestate belongs to the row's trace
    }

    [Fact]
    public void The_acknowledgement_records_partition_and_offset_and_ends_the_span()
    {
        using var recorder = new SpanRecorder();
        var span = Spans().Start(Event(), Transaction(), Topic)!;

        EventSpans.Acknowledged(span, new Partition(3), new Offset(1234));

        Assert.True(span.IsStopped);
        Assert.Same(span, Assert.Single(recorder.Stopped));
        Assert.Equal("3", span.GetTagItem("messaging.destination.partition.id"));
        Assert.Equal(1234L, span.GetTagItem("messaging.kafka.offset"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.True(span.StartTimeUtc + span.Duration >= DateTime.UtcNow.AddSeconds(-5));
    }

    [Fact]
    public void A_dead_lettered_event_s_span_has_an_error_status_with_the_reason_and_ends_with_the_dead_letter()
    {
        using var recorder = new SpanRecorder();
        var spans = Spans();
        var span = spans.Start(Event(), Transaction(), Topic)!;

        EventSpans.Refused(span, "MsgSizeTooLarge", "Broker: Message size too large (MsgSizeTooLarge)", "atlas_cdc.dlq");
        Assert.False(span.IsStopped);
        var deadLetter = Message(traceParent: null, traceState: null);
        spans.SendingDeadLetter(span, deadLetter);
        EventSpans.DeadLettered(span);

        Assert.True(span.IsStopped);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("Broker: Message size too large (MsgSizeTooLarge)", span.StatusDescription);
        Assert.Equal("MsgSizeTooLarge", span.GetTagItem("error.type"));
        Assert.Equal("atlas_cdc.dlq", span.GetTagItem("atlas.dead_letter.topic"));
        Assert.Null(span.GetTagItem("messaging.kafka.offset"));
        Assert.Equal(span.Id, Header(deadLetter, "traceparent"));
    }

    [Fact]
    public void A_huge_topic_or_reason_is_cut_in_the_span()
    {
        using var recorder = new SpanRecorder();
        var huge = new string('k', 1_500_000);
        var span = Spans().Start(Event(), Transaction(), huge)!;
        EventSpans.Failed(span, "invalid_topic", huge);

        Assert.True(span.DisplayName.Length <= EventSpans.MaxTextLength + 20, $"{span.DisplayName.Length} characters");
        Assert.True(((string)span.GetTagItem("messaging.destination.name")!).Length <= EventSpans.MaxTextLength + 3);
        Assert.True(span.StatusDescription!.Length <= EventSpans.MaxTextLength + 3);
        Assert.True(span.IsStopped);
    }

    [Fact]
    public void A_span_the_sampler_drops_still_carries_the_trace_to_the_record_but_records_nothing()
    {
        using var recorder = new SpanRecorder(ActivitySamplingResult.PropagationData);
        var spans = Spans();
        var span = spans.Start(Event(), Transaction(), Topic)!;
        var message = Message();
        spans.Sending(span, message);
        EventSpans.Acknowledged(span, new Partition(0), new Offset(1));

        Assert.False(span.IsAllDataRequested);
        Assert.DoesNotContain(span.TagObjects, t => t.Key.StartsWith("messaging.message", StringComparison.Ordinal));
        Assert.Equal($"00-{WriterTraceId}-{span.SpanId.ToHexString()}-00", Header(message, "traceparent"));
    }

    /// <summary>Listens to the relay's source for one test, with the sampling decision given.</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;

        public SpanRecorder(ActivitySamplingResult sampling = ActivitySamplingResult.AllDataAndRecorded)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == RelayActivitySource.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampling,
                ActivityStopped = activity =>
                {
                    lock (Stopped)
                        Stopped.Add(activity);
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> Stopped { get; } = [];

        public void Dispose() => _listener.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Atlas.Cdc.Sandbox;
using Atlas.Cdc.Sandbox.Otlp;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Tracing end to end: the relay process exports its spans over OTLP/HTTP to the sandbox's receiver, which decodes
/// them as a collector would, and kcat reads the records a consumer gets. A writer's trace must read request →
/// transaction → relay → consumer.
/// </summary>
[Collection(CdcCollection.Name)]
public class TracingTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private static readonly TimeSpan s_spanTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Relay_span_is_the_child_of_the_row_s_traceparent_from_commit_to_acknowledgement_and_the_parent_a_consumer_sees()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("trace_relay");
        var topic = scenario.Topic("Order");
        await using var relay = await scenario.StartReadyRelayAsync(Tracing(receiver, new Dictionary<string, string>
        {
            ["OTEL_SERVICE_NAME"] = "orders-relay",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=test",
        }));

        // One key, so one partition: the untraced event is acknowledged (and would be exported) before the traced ones.
        var untraced = await scenario.InsertAsync(new OutboxRow("Order", "order-1", "OrderCreated", """{"n": 0}"""));
        var writers = Enumerable.Range(0, 3).Select(_ => WriterSpan.Create()).ToList();
        var beforeCommit = DateTimeOffset.UtcNow;
        var traced = await scenario.InsertAsync([.. writers.Select((writer, i) =>
            new OutboxRow("Order", "order-1", "OrderPlaced", $$"""{"n": {{i + 1}}}""", writer.HeadersJson))]);
        var afterCommit = DateTimeOffset.UtcNow;

        var records = await scenario.WaitForEventsAsync([topic], [.. untraced, .. traced]);
        var spans = await WaitForSpansAsync(receiver, traced, relay);

        foreach (var (id, writer) in traced.Zip(writers))
        {
            var span = spans[id];
            var record = records.First(r => r.Header("id") == id.ToString());
            output.WriteLine(span.ToString());

            // request → transaction → relay: the writer's span is the relay span's parent.
            Assert.Equal(writer.TraceId, span.TraceId);
            Assert.Equal(writer.SpanId, span.ParentSpanId);
            Assert.Equal(WriterSpan.TraceState, span.TraceState);
            Assert.Empty(span.Links);
            Assert.Equal($"publish {topic}", span.Name);
            Assert.Equal("Producer", span.Kind);
            Assert.Equal("Atlas.Cdc", span.ScopeName);
            Assert.Equal("Unset", span.StatusCode);
            Assert.Equal(new Dictionary<string, string?>
            {
                ["messaging.system"] = "kafka",
                ["messaging.destination.name"] = topic,
                ["messaging.operation.type"] = "publish",
                ["messaging.operation.name"] = "publish",
                ["messaging.message.id"] = id.ToString(),
                ["messaging.kafka.message.key"] = "order-1",
                ["messaging.message.body.size"] = record.PayloadBytes!.Length.ToString(CultureInfo.InvariantCulture),
                ["messaging.destination.partition.id"] = record.Partition.ToString(CultureInfo.InvariantCulture),
                ["messaging.kafka.offset"] = record.Offset.ToString(CultureInfo.InvariantCulture),
                ["atlas.origin"] = "stream",
            }, span.Attributes.ToDictionary(a => a.Key, a => span.Attribute(a.Key)));

            // From the transaction's commit (as PostgreSQL sent it) to Kafka's acknowledgement, before a consumer saw it.
            var commitTime = DateTimeOffset.Parse(record.Header("atlas.commit_time")!, CultureInfo.InvariantCulture);
            Assert.InRange(commitTime, beforeCommit.AddSeconds(-1), afterCommit.AddSeconds(1));
            Assert.True(Math.Abs((span.Start - commitTime).Ticks) <= 10,
                $"span starts at {span.Start:O}, the transaction committed at {commitTime:O}: {span}");
            Assert.True(span.End > span.Start, $"span ends at {span.End:O}, not after its start: {span}");
            Assert.True(span.End <= record.ReceivedAt,
                $"span ends at {span.End:O}, after kcat read the record at {record.ReceivedAt:O}: {span}");

            // relay → consumer: the record's trace context is the relay span's.
            Assert.Equal(span.TraceParent, record.Header("traceparent"));
            Assert.EndsWith("-01", record.Header("traceparent"), StringComparison.Ordinal);
            Assert.Equal(WriterSpan.TraceState, record.Header("tracestate"));
            Assert.Equal("tenant=acme", record.Header("baggage"));
        }

        Assert.DoesNotContain(receiver.Spans, s => s.Attribute("messaging.message.id") == untraced[0].ToString());
        Assert.Null(records.First(r => r.Header("id") == untraced[0].ToString()).Header("traceparent"));
        var resource = spans[traced[0]].Resource;
        Assert.Equal("orders-relay", resource["service.name"]);
        Assert.Equal("test", resource["deployment.environment.name"]);
        Assert.Empty(receiver.Rejected);
    }

    [Fact]
    public async Task In_pass_through_mode_the_consumer_sees_the_row_s_traceparent_and_root_spans_are_made_only_when_asked()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("trace_passthrough");
        var topic = scenario.Topic("Payment");
        await using var relay = await scenario.StartReadyRelayAsync(Tracing(receiver, new Dictionary<string, string>
        {
            ["Cdc__Tracing__Propagation"] = "PassThrough",
            ["Cdc__Tracing__RootSpans"] = "true",
        }));

        var writer = WriterSpan.Create();
        var ids = await scenario.InsertAsync(
            new OutboxRow("Payment", "payment-1", "PaymentTaken", """{"n": 1}""", writer.HeadersJson),
            new OutboxRow("Payment", "payment-2", "PaymentTaken", """{"n": 2}"""),
            new OutboxRow("Payment", "payment-3", "PaymentTaken", """{"n": 3}""", """{"traceparent": "t-1"}"""));

        var records = await scenario.WaitForEventsAsync([topic], ids);
        var spans = await WaitForSpansAsync(receiver, ids, relay);
        string? TraceParentOf(Guid id) => records.First(r => r.Header("id") == id.ToString()).Header("traceparent");

        var child = spans[ids[0]];
        Assert.Equal(writer.TraceId, child.TraceId);
        Assert.Equal(writer.SpanId, child.ParentSpanId);
        Assert.Equal(writer.TraceParent, TraceParentOf(ids[0]));
        Assert.Equal(WriterSpan.TraceState, records.First(r => r.Header("id") == ids[0].ToString()).Header("tracestate"));

        foreach (var (id, rowTraceParent) in new[] { (ids[1], (string?)null), (ids[2], "t-1") })
        {
            var root = spans[id];
            Assert.Null(root.ParentSpanId);
            Assert.Empty(root.Links);
            Assert.NotEqual(writer.TraceId, root.TraceId);
            Assert.Equal("stream", root.Attribute("atlas.origin"));
            Assert.Equal(rowTraceParent, TraceParentOf(id));
        }
        Assert.Equal(Hosting.TracingHosting.DefaultServiceName, spans[ids[0]].Resource["service.name"]);
    }

    [Fact]
    public async Task A_dead_lettered_event_s_span_ends_with_an_error_status_and_the_reason()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("trace_deadletter");
        var topic = scenario.Topic("Claim");
        environment.Kafka.CreateTopic(topic, partitions: 1);
        await using var relay = await scenario.StartReadyRelayAsync(Tracing(receiver));
        var first = await scenario.InsertAsync(new OutboxRow("Claim", "claim-0", "Filed", """{"n": 0}"""));
        await scenario.WaitForEventsAsync([topic], first);

        // Refused by the broker in its delivery report (MESSAGE_TOO_LARGE, as in PoisonEventTests), then refused
        // before sending for a topic name Kafka does not allow.
        environment.Kafka.PushRequestErrors(0, 10);
        var refusedWriter = WriterSpan.Create();
        var refused = await scenario.InsertAsync(new OutboxRow("Claim", "claim-0", "Filed", """{"n": "refused"}""", refusedWriter.HeadersJson));
        await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], refused);
        var badTopicWriter = WriterSpan.Create();
        var badTopic = await scenario.InsertAsync(new OutboxRow("Order Refund/ü", "refund-1", "Refunded", """{"n": 1}""", badTopicWriter.HeadersJson));

        var deadLetters = await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], [.. refused, .. badTopic]);
        var spans = await WaitForSpansAsync(receiver, [.. refused, .. badTopic], relay);

        foreach (var (id, writer, errorType, reason) in new[]
                 {
                     (refused[0], refusedWriter, "MsgSizeTooLarge", "MsgSizeTooLarge"),
                     (badTopic[0], badTopicWriter, "invalid_topic", "Kafka allows only ASCII letters"),
                 })
        {
            var span = spans[id];
            var deadLetter = deadLetters.First(r => r.Header("id") == id.ToString());
            output.WriteLine(span.ToString());
            Assert.Equal("Error", span.StatusCode);
            Assert.Contains(reason, span.StatusMessage, StringComparison.Ordinal);
            Assert.Equal(deadLetter.Header("atlas.dlq.reason"), span.StatusMessage);
            Assert.Equal(errorType, span.Attribute("error.type"));
            Assert.Equal(scenario.DeadLetterTopic, span.Attribute("atlas.dead_letter.topic"));
            Assert.Equal(deadLetter.Header("atlas.dlq.original_topic"), span.Attribute("messaging.destination.name"));
            Assert.Null(span.Attribute("messaging.kafka.offset"));
            Assert.Equal(writer.TraceId, span.TraceId);
            Assert.Equal(writer.SpanId, span.ParentSpanId);
            Assert.True(span.End > span.Start && span.End <= deadLetter.ReceivedAt, span.ToString());
            Assert.Equal(span.TraceParent, deadLetter.Header("traceparent"));
        }
        Assert.Equal($"publish {scenario.TopicPrefix}.Order Refund/ü", spans[badTopic[0]].Name);
    }

    [Theory]
    [InlineData("closed port")]
    [InlineData("listener that never answers")]
    public async Task A_receiver_that_cannot_be_reached_neither_stops_nor_slows_relaying(string receiverKind)
    {
        using var silent = receiverKind == "closed port" ? null : SilentListener.Start();
        var endpoint = $"http://127.0.0.1:{silent?.Port ?? FreePort.Find()}";
        await using var scenario = await environment.CreateScenarioAsync("trace_unreachable");
        var topic = scenario.Topic("Order");
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Tracing__Enabled"] = "true",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "50",
            ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "16",
        });

        var ids = new List<Guid>();
        for (var t = 0; t < 40; t++)
        {
            ids.AddRange(await scenario.InsertAsync([.. Enumerable.Range(0, 5).Select(i =>
                new OutboxRow("Order", $"order-{i}", "OrderPlaced", $$"""{"t": {{t}}, "i": {{i}}}""", WriterSpan.Create().HeadersJson))]));
            Assert.False(relay.HasExited, relay.Output);
        }

        var records = await scenario.WaitForEventsAsync([topic], ids);
        Assert.All(records, r => Assert.NotNull(r.Header("traceparent")));
        var metrics = await relay.GetTextAsync("/metrics");
        var count = Sample(metrics, "atlas_cdc_end_to_end_latency_seconds_count{outbox=\"default\"}");
        var underOneSecond = Sample(metrics, "atlas_cdc_end_to_end_latency_seconds_bucket{outbox=\"default\",le=\"1\"}");
        Assert.True(count >= ids.Count, $"{count} latencies observed for {ids.Count} events");
        Assert.True(underOneSecond == count, $"{count - underOneSecond} of {count} events took over 1 s from commit to acknowledgement");
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
        if (silent is not null)
            Assert.True(silent.Accepted > 0, "the exporter never tried the silent endpoint: were spans exported at all?");

        var stopwatch = Stopwatch.StartNew();
        Assert.Equal(0, await relay.TerminateAsync());
        output.WriteLine($"{ids.Count} events relayed with the receiver at a {receiverKind}; p(latency <= 1 s) = {underOneSecond}/{count}; " +
                         $"SIGTERM to exit {stopwatch.Elapsed.TotalSeconds:F1} s; exporter connections {silent?.Accepted.ToString(CultureInfo.InvariantCulture) ?? "refused"}");
    }

    [Fact]
    public async Task Backfilled_and_replayed_events_start_traces_of_their_own_linked_to_the_row_s_and_are_marked()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var scenario = await environment.CreateScenarioAsync("trace_table");
        var topic = scenario.Topic("Invoice");
        var writers = Enumerable.Range(0, 2).Select(_ => WriterSpan.Create()).ToList();
        var ids = await scenario.InsertAsync([.. writers.Select((writer, i) =>
            new OutboxRow("Invoice", $"invoice-{i}", "InvoiceIssued", $$"""{"n": {{i}}}""", writer.HeadersJson))]);

        var settings = Tracing(receiver);
        var relayStarted = DateTimeOffset.UtcNow;
        await using var relay = await scenario.StartReadyRelayAsync(settings);
        var records = await scenario.WaitForEventsAsync([topic], ids);
        var backfilled = await WaitForSpansAsync(receiver, ids, relay);

        foreach (var (id, writer) in ids.Zip(writers))
        {
            var span = backfilled[id];
            var record = records.First(r => r.Header("id") == id.ToString());
            output.WriteLine(span.ToString());
            Assert.Equal("true", record.Header("atlas.snapshot"));
            Assert.Equal("snapshot", span.Attribute("atlas.origin"));
            AssertLinkedNotChild(span, writer);
            Assert.Equal(record.Header("atlas.commit_time"), span.Attribute("atlas.commit_time"));
            Assert.True(span.Start >= relayStarted && span.End <= record.ReceivedAt, $"relay started {relayStarted:O}: {span}");
            Assert.Equal(span.TraceParent, record.Header("traceparent"));
            Assert.Null(record.Header("tracestate"));
        }

        var replay = await RelayCommand.RunAsync(["replay", "--id", ids[1].ToString()], scenario.RelaySettings(settings));
        Assert.True(replay.ExitCode == 0, replay.ToString());
        var replayedRecord = Assert.Single(await scenario.ReadTopicAsync(topic), r => r.Header("atlas.replayed") == "true");
        ReceivedSpan? replayed = null;
        await Poll.UntilAsync("the replayed event's span", () =>
            {
                replayed = receiver.Spans.FirstOrDefault(s => s.Attribute("atlas.origin") == "replay");
                return Task.FromResult(replayed is not null);
            }, s_spanTimeout,
            () => Task.FromResult($"{receiver.Spans.Count} spans: {string.Join("; ", receiver.Spans.Select(s => s.Attribute("atlas.origin")))}"));
        output.WriteLine(replayed!.ToString());
        Assert.Equal(ids[1].ToString(), replayed.Attribute("messaging.message.id"));
        AssertLinkedNotChild(replayed, writers[1]);
        Assert.NotEqual(backfilled[ids[1]].TraceId, replayed.TraceId);
        Assert.Equal(replayed.TraceParent, replayedRecord.Header("traceparent"));
    }

    private static void AssertLinkedNotChild(ReceivedSpan span, WriterSpan writer)
    {
        Assert.Null(span.ParentSpanId);
        Assert.NotEqual(writer.TraceId, span.TraceId);
        var link = Assert.Single(span.Links);
        Assert.Equal(writer.TraceId, link.TraceId);
        Assert.Equal(writer.SpanId, link.SpanId);
        Assert.Equal(WriterSpan.TraceState, link.TraceState);
    }

    /// <summary>The relay's tracing settings, exporting to <paramref name="receiver"/> over OTLP/HTTP every 100 ms.</summary>
    private static Dictionary<string, string> Tracing(OtlpTraceReceiver receiver, IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Cdc__Tracing__Enabled"] = "true",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
            settings[name] = value;
        return settings;
    }

    /// <summary>Waits until the receiver holds a span for every event id; the first span of each when an event was sent twice.</summary>
    private static async Task<Dictionary<Guid, ReceivedSpan>> WaitForSpansAsync(OtlpTraceReceiver receiver, IReadOnlyCollection<Guid> ids, RelayProcess relay)
    {
        Dictionary<Guid, ReceivedSpan> Found() => receiver.Spans
            .Where(s => s.Attribute("messaging.message.id") is { } id && ids.Contains(Guid.Parse(id)))
            .GroupBy(s => Guid.Parse(s.Attribute("messaging.message.id")!))
            .ToDictionary(g => g.Key, g => g.First());
        await Poll.UntilAsync($"spans of {ids.Count} events at the receiver", () => Task.FromResult(Found().Count == ids.Count), s_spanTimeout,
            () => Task.FromResult($"{Found().Count} of {ids.Count} events' spans among {receiver.Spans.Count} spans in {receiver.Exports} exports; " +
                                  $"rejected: [{string.Join("; ", receiver.Rejected)}]; relay output:\n{RelayProbe.Tail(relay.Output)}"));
        return Found();
    }

    private static double Sample(string metrics, string series)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal))
                   ?? throw new Xunit.Sdk.XunitException($"no sample {series} in /metrics");
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>A writer's span as the writer library puts it in a row's headers.</summary>
    private sealed record WriterSpan(string TraceId, string SpanId)
    {
        public const string TraceState = "shop=1";

        public static WriterSpan Create() => new(ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString());

        public string TraceParent => $"00-{TraceId}-{SpanId}-01";

        public string HeadersJson => $$"""{"traceparent": "{{TraceParent}}", "tracestate": "{{TraceState}}", "baggage": "tenant=acme"}""";
    }

    /// <summary>A TCP endpoint that accepts connections and never answers: a collector that hangs.</summary>
    private sealed class SilentListener : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<Socket> _accepted = [];
        private readonly CancellationTokenSource _stop = new();

        private SilentListener()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        public static SilentListener Start() => new();

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted
        {
            get
            {
                lock (_accepted)
                    return _accepted.Count;
            }
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    lock (_accepted)
                        _accepted.Add(socket);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_accepted)
                foreach (var socket in _accepted)
                    socket.Dispose();
            _stop.Dispose();
        }
    }
}

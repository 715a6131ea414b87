using System.Diagnostics;
using System.Globalization;
using System.Text;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Offsets;
using Confluent.Kafka;

namespace Atlas.Cdc.Tracing;

/// <summary>
/// One OpenTelemetry producer span per event, named <c>publish &lt;topic&gt;</c> and attributed per the messaging
/// semantic conventions. A streamed event's span is a child of the row's <c>traceparent</c>, starts at the
/// transaction's commit time and ends when Kafka acknowledges the event (or its dead letter), so its length is the
/// event's relay latency. An event read from the table (backfill, slot recovery, replay) starts a trace of its own,
/// linked to the row's, and starts when the relay read it: its commit may be days old.
/// </summary>
/// <remarks>
/// The publishing loop starts a span and sets the record's headers; the producer's delivery thread ends it. Nothing
/// here is shared between events. <see cref="Create"/> gives null when tracing is off, so the hot path then costs a
/// null check; when it is on, <see cref="Start"/> asks whether anyone listens before it reads anything.
/// </remarks>
internal sealed class EventSpans
{
    /// <summary>Longest span name, destination and status description kept: a topic made of a huge aggregate_type must not make a huge span.</summary>
    internal const int MaxTextLength = 1000;

    private readonly bool _rootSpans;
    private readonly bool _propagate;

    private EventSpans(TracingOptions options)
    {
        _rootSpans = options.RootSpans;
        _propagate = options.Propagation == TracePropagation.Relay;
    }

    /// <summary>The spans of <c>Cdc:Tracing</c>, or null when tracing is off.</summary>
    public static EventSpans? Create(TracingOptions options) => options.Enabled ? new EventSpans(options) : null;

    /// <summary>
    /// Starts the event's span, or returns null: nobody listens, the row has no trace context and root spans are
    /// off, or the sampler dropped it. <paramref name="topic"/> is null when the row cannot name one.
    /// </summary>
    public Activity? Start(OutboxEvent outboxEvent, TrackedTransaction transaction, string? topic)
    {
        var source = RelayActivitySource.Source;
        if (!source.HasListeners())
            return null;
        var hasContext = RowTraceContext.TryRead(outboxEvent.Headers, out var rowContext);
        if (!hasContext && !_rootSpans)
            return null;

        var fromStream = outboxEvent.Origin == EventOrigin.Stream;
        var destination = topic is null ? null : Bounded(topic);
        var current = Activity.Current;
        Activity? activity;
        try
        {
            if (current is not null)
                Activity.Current = null; // a root span must not become a child of whatever the loop runs in
            activity = source.StartActivity(
                destination is null ? SpanAttributes.Publish : $"{SpanAttributes.Publish} {destination}",
                ActivityKind.Producer,
                parentContext: fromStream && hasContext ? rowContext : default,
                tags: CreationTags(destination),
                links: !fromStream && hasContext ? [new ActivityLink(rowContext)] : null,
                startTime: fromStream ? transaction.CommitTime : DateTimeOffset.UtcNow);
        }
        finally
        {
            // StartActivity made the span current. Left so, the next event's span would keep this one alive
            // (an activity holds the one that was current when it started), and so on for every event.
            Activity.Current = current;
        }
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(SpanAttributes.OperationName, SpanAttributes.Publish);
            activity.SetTag(SpanAttributes.MessageId, outboxEvent.IdText);
            activity.SetTag(SpanAttributes.KafkaMessageKey, Encoding.UTF8.GetString(outboxEvent.AggregateId));
            activity.SetTag(SpanAttributes.Origin, OriginName(outboxEvent.Origin));
            if (!fromStream)
                activity.SetTag(SpanAttributes.CommitTime, Encoding.ASCII.GetString(transaction.CommitTimeHeader));
        }
        return activity;
    }

    /// <summary>
    /// The message is about to be produced: records its size and, with <see cref="TracePropagation.Relay"/>, makes
    /// its <c>traceparent</c> (and <c>tracestate</c>) the span's, so a consumer's span becomes the relay span's child.
    /// </summary>
    public void Sending(Activity activity, Message<byte[]?, byte[]?> message)
    {
        if (activity.IsAllDataRequested)
            activity.SetTag(SpanAttributes.MessageBodySize, message.Value?.Length ?? 0);
        if (_propagate)
            Propagate(activity, message.Headers);
    }

    /// <summary>Gives a dead letter the span's trace context too (with <see cref="TracePropagation.Relay"/>).</summary>
    public void SendingDeadLetter(Activity activity, Message<byte[]?, byte[]?> message)
    {
        if (_propagate)
            Propagate(activity, message.Headers);
    }

    /// <summary>Replaces the record's trace context headers with the span's.</summary>
    internal static void Propagate(Activity activity, Headers headers)
    {
        if (activity.IdFormat != ActivityIdFormat.W3C || activity.Id is not { } id)
            return;
        headers.Remove(RowTraceContext.TraceParent);
        headers.Remove(RowTraceContext.TraceState);
        headers.Add(RowTraceContext.TraceParent, Encoding.ASCII.GetBytes(id));
        if (!string.IsNullOrEmpty(activity.TraceStateString))
            headers.Add(RowTraceContext.TraceState, Encoding.UTF8.GetBytes(activity.TraceStateString));
    }

    /// <summary>Kafka acknowledged the event: records where it was written and ends the span.</summary>
    public static void Acknowledged(Activity activity, Partition partition, Offset offset)
    {
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(SpanAttributes.PartitionId, partition.Value.ToString(CultureInfo.InvariantCulture));
            activity.SetTag(SpanAttributes.KafkaOffset, offset.Value);
        }
        activity.Stop();
    }

    /// <summary>
    /// The event was refused for good and goes to <paramref name="deadLetterTopic"/>: error status with the reason. The
    /// span ends when the dead letter is acknowledged (<see cref="DeadLettered"/>), which is when the relay counts the
    /// event done.
    /// </summary>
    public static void Refused(Activity activity, string errorType, string reason, string deadLetterTopic)
    {
        activity.SetStatus(ActivityStatusCode.Error, Bounded(reason));
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(SpanAttributes.ErrorType, errorType);
            activity.SetTag(SpanAttributes.DeadLetterTopic, deadLetterTopic);
        }
    }

    /// <summary>The dead letter of a refused event was acknowledged: the span ends.</summary>
    public static void DeadLettered(Activity activity) => activity.Stop();

    /// <summary>
    /// The event was not delivered (the relay halts, or the session ends and the event is sent again by the next
    /// one): error status with the reason, and the span ends.
    /// </summary>
    public static void Failed(Activity activity, string errorType, string reason)
    {
        activity.SetStatus(ActivityStatusCode.Error, Bounded(reason));
        if (activity.IsAllDataRequested)
            activity.SetTag(SpanAttributes.ErrorType, errorType);
        activity.Stop();
    }

    /// <summary>The value of <see cref="SpanAttributes.Origin"/>.</summary>
    internal static string OriginName(EventOrigin origin) => origin switch
    {
        EventOrigin.Snapshot => "snapshot",
        EventOrigin.Replay => "replay",
        _ => "stream",
    };

    /// <summary>Attributes given at creation, where a sampler sees them (the conventions ask for these there).</summary>
    private static KeyValuePair<string, object?>[] CreationTags(string? destination) => destination is null
        ? [new(SpanAttributes.MessagingSystem, SpanAttributes.Kafka), new(SpanAttributes.OperationType, SpanAttributes.Publish)]
        :
        [
            new(SpanAttributes.MessagingSystem, SpanAttributes.Kafka),
            new(SpanAttributes.OperationType, SpanAttributes.Publish),
            new(SpanAttributes.DestinationName, destination),
        ];

    internal static string Bounded(string text) => text.Length <= MaxTextLength ? text : text[..MaxTextLength] + "...";
}

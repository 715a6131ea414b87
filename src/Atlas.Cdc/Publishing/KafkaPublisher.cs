using System.Diagnostics;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Tracing;
using Confluent.Kafka;
using NpgsqlTypes;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// Sends outbox events to Kafka through one long-lived Confluent.Kafka producer (idempotent, never gives up) and
/// reports each acknowledgement to the <see cref="AcknowledgementTracker"/>. Events Kafka refuses for good go to the
/// dead-letter topic (or halt the relay, by policy); the tracker counts them done only once the dead letter itself
/// is acknowledged. Delivery reports, errors and log lines arrive on the client's own threads. With tracing on, each
/// event's span (<see cref="EventSpans"/>) starts here and ends with the event's delivery report or its dead letter's.
/// </summary>
internal sealed class KafkaPublisher : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly OutboxCatalog _outboxes;
    private readonly TopicMetadataWarmer _topicMetadata;
    private readonly KafkaMessageFactory _messages;
    private readonly MessageValueEncoder? _values;
    private readonly DeadLetterOptions _deadLetter;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _maxDeadLetterPayload;
    private readonly FailureLatch _failure = new();
    private readonly EventSpans? _spans;
    private volatile bool _brokersDown;
    private long _queuedMessages;

    public KafkaPublisher(CdcOptions options, OutboxCatalog outboxes, RelayMetrics metrics, SchemaMetrics schemaMetrics, ILogger<KafkaPublisher> logger)
    {
        _deadLetter = options.DeadLetter;
        _metrics = metrics;
        _logger = logger;
        _messages = new KafkaMessageFactory([.. outboxes.All.Select(o => new TopicNamer(o.TopicTemplate))]);
        _outboxes = outboxes;
        _spans = EventSpans.Create(options.Tracing);
        var config = ProducerSettings.Build(options.Kafka);
        _maxDeadLetterPayload = config.TryGetValue("message.max.bytes", out var max) && int.TryParse(max, out var parsed)
            ? parsed - 64 * 1024
            : 1_000_000 - 64 * 1024;
        try
        {
            _producer = new ProducerBuilder<byte[]?, byte[]?>(config)
                .SetErrorHandler((_, error) => OnError(error))
                .SetLogHandler((_, log) => OnLog(log))
                .Build();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KafkaException)
        {
            // An unknown property or a value librdkafka rejects can never work: end the process with one clear message.
            throw new FatalConfigurationException(DescribeConfigurationError(options.Kafka, e.Message), e);
        }
        _values = MessageValueEncoder.Create(options, outboxes, schemaMetrics, logger);
        _topicMetadata = new TopicMetadataWarmer(_producer.Handle, logger);
    }

    /// <summary>Set when the publisher can no longer be trusted; the session ends and, unless fatal, starts over.</summary>
    public PublishFailure? Failure => _failure.Current;

    /// <summary>Messages handed to the producer (events and dead letters) whose delivery report has not arrived yet.</summary>
    public long QueuedMessages => Interlocked.Read(ref _queuedMessages);

    /// <summary>
    /// Waits until every message handed to the producer has its delivery report. A new session waits so that its
    /// copies never pile up behind an earlier session's messages (a broker outage across a PostgreSQL restart would
    /// otherwise add a session's worth each time); the worker waits before it disposes a failed publisher.
    /// </summary>
    public async Task WaitForReportsAsync(CancellationToken cancellationToken)
    {
        if (QueuedMessages == 0)
            return;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (QueuedMessages > 0)
            await poll.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>False while the client reports every broker down.</summary>
    public bool BrokersReachable => !_brokersDown;

    /// <summary>Why message values cannot be written right now (the schema registry is unavailable), or null.</summary>
    public string? ValueFormatProblem => _values?.Unavailable;

    /// <summary>
    /// Hands an event to Kafka; its acknowledgement (or dead letter) is reported to the delivery's tracker. The event
    /// must already be counted there (<see cref="AcknowledgementTracker.Sent"/>, done by <see cref="PublishQueue"/>).
    /// Called by one loop at a time, in commit order. Completes synchronously unless it has to wait for the schema
    /// registry or for room in the producer's queue; <paramref name="cancellationToken"/> ends such a wait
    /// (<see cref="OperationCanceledException"/>, nothing sent).
    /// </summary>
    public async ValueTask SendAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        var outboxEvent = delivery.Event;
        var transaction = delivery.Transaction;

        if (outboxEvent.DecodeError is { } decodeError)
        {
            delivery.Span = _spans?.Start(outboxEvent, transaction, topic: null);
            DeadLetter(delivery, "(none)", decodeError, "invalid_row");
            return;
        }

        var topic = _messages.TopicFor(outboxEvent);
        delivery.Topic = topic.Name;
        delivery.Span = _spans?.Start(outboxEvent, transaction, topic.Name);
        if (topic.Error is { } topicError)
        {
            DeadLetter(delivery, topic.Name, topicError, "invalid_topic");
            return;
        }

        _topicMetadata.Seen(topic.Name);
        var message = _messages.Create(outboxEvent, transaction, out var warning);
        if (warning is not null)
        {
            _metrics.HeaderWarnings.Add(outboxEvent.OutboxIndex, 1);
            _logger.LogWarning("Event {OutboxEventId} at LSN {CommitLsn}: {Warning}", outboxEvent.IdText, Lsn(transaction), warning);
        }
        if (_values is not null && await _values.ApplyAsync(message, outboxEvent, transaction, topic.Name, cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            DeadLetter(delivery, topic.Name, refusal, "invalid_value");
            return;
        }
        if (delivery.Span is { } span)
            _spans!.Sending(span, message);

        while (true)
        {
            if (TryProduce(topic.Name, message, delivery) is not { } error)
                return;
            if (error.Code == ErrorCode.Local_QueueFull)
            {
                // Only reachable when queue.buffering.max.* is set below the relay's in-flight limits.
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (error.IsFatal)
                Fail(new PublishFailure($"Kafka producer failed: {Describe(error)}", isFatal: false), delivery, error);
            else
                DeadLetter(delivery, topic.Name, Describe(error), error.Code.ToString()); // refused before sending, e.g. larger than message.max.bytes: it can never succeed
            return;
        }
    }

    /// <summary>Queues the message in the producer; returns null when queued (its report then comes exactly once), else why not.</summary>
    private Error? TryProduce(string topic, Message<byte[]?, byte[]?> message, Delivery delivery)
    {
        Interlocked.Increment(ref _queuedMessages);
        try
        {
            _producer.Produce(topic, message, delivery.ReportHandler);
            return null;
        }
        catch (ProduceException<byte[]?, byte[]?> e)
        {
            Interlocked.Decrement(ref _queuedMessages);
            return e.Error;
        }
        catch (KafkaException e)
        {
            Interlocked.Decrement(ref _queuedMessages);
            return e.Error;
        }
    }

    /// <summary>The delivery report of an event or of its dead letter, on the producer's polling thread.</summary>
    private void OnDelivered(Delivery delivery, DeliveryReport<byte[]?, byte[]?> report)
    {
        Interlocked.Decrement(ref _queuedMessages);
        // An exception must not escape into the client's polling thread: it would only surface on a later call.
        try
        {
            OnDelivered(delivery, report.Error.IsError ? report.Error : null, report);
        }
        catch (Exception e)
        {
            Fail(new PublishFailure($"Handling the delivery report of event {delivery.Event.IdText} failed: {e}", isFatal: false));
        }
    }

    private void OnDelivered(Delivery delivery, Error? error, DeliveryReport<byte[]?, byte[]?> report)
    {
        if (delivery.IsDeadLetter)
        {
            OnDeadLetterDelivered(delivery, error);
            return;
        }
        if (error is null)
        {
            _brokersDown = false;
            if (delivery.Span is { } span)
                EventSpans.Acknowledged(span, report.Partition, report.Offset);
            // Rows read from the table may be days old: their age is no latency of the relay's.
            _metrics.RecordPublished(delivery.Event.OutboxIndex, delivery.Topic!, delivery.Event.Origin == EventOrigin.Stream ? delivery.Transaction.CommitTime : null);
            delivery.Tracker.Acknowledged(delivery.Transaction, delivery.Size);
            return;
        }

        _metrics.RecordPublishError(error.Code.ToString());
        if (error.IsFatal || error.Code is ErrorCode.Local_Fatal)
        {
            Fail(new PublishFailure($"Kafka producer hit a fatal error: {Describe(error)}", isFatal: false), delivery, error);
            return;
        }
        if (error.Code is ErrorCode.Local_PurgeQueue or ErrorCode.Local_PurgeInflight or ErrorCode.Local_Destroy
            or ErrorCode.Local_MsgTimedOut)
        {
            // Not this event's fault: the session ends without confirming it, and the next one sends it again.
            Fail(new PublishFailure($"Kafka delivery was abandoned: {Describe(error)}", isFatal: false), delivery, error);
            return;
        }
        // With message.timeout.ms=0 librdkafka retries every retriable error itself: what reaches here is final.
        DeadLetter(delivery, delivery.Topic!, Describe(error), error.Code.ToString());
    }

    /// <param name="errorType">The class of the refusal, for the span's <c>error.type</c>: a Kafka error code, or the relay's own.</param>
    private void DeadLetter(Delivery delivery, string originalTopic, string reason, string errorType)
    {
        var outboxEvent = delivery.Event;
        if (_deadLetter.Policy == DeadLetterPolicy.Halt)
        {
            var halt = new PublishFailure(
                $"Event {outboxEvent.IdText} (commit LSN {Lsn(delivery.Transaction)}, topic '{Abbreviate(originalTopic)}') was refused for good: " +
                $"{Abbreviate(reason)}. Cdc:DeadLetter:Policy is Halt, so the relay stops without confirming it.", isFatal: true)
            {
                EventId = outboxEvent.IdText,
                CommitLsn = Lsn(delivery.Transaction),
            };
            if (delivery.Span is { } halted)
                EventSpans.Failed(halted, errorType, halt.Message);
            Fail(halt);
            return;
        }

        var deadLetterTopic = OutboxOf(delivery).DeadLetterTopic;
        _logger.LogError("Event {OutboxEventId} at LSN {CommitLsn} refused for topic {Topic}: {Reason}; sending it to dead-letter topic {DeadLetterTopic}",
            outboxEvent.IdText, Lsn(delivery.Transaction), Abbreviate(originalTopic), Abbreviate(reason), deadLetterTopic);
        var message = _messages.CreateDeadLetter(outboxEvent, delivery.Transaction, originalTopic, reason, _maxDeadLetterPayload);
        if (delivery.Span is { } span)
        {
            EventSpans.Refused(span, errorType, reason, deadLetterTopic);
            _spans!.SendingDeadLetter(span, message);
        }
        delivery.IsDeadLetter = true;
        if (TryProduce(deadLetterTopic, message, delivery) is { } error)
            DeadLetterFailed(delivery, error);
    }

    private void OnDeadLetterDelivered(Delivery delivery, Error? error)
    {
        if (error is null)
        {
            _metrics.DeadLettered.Add(delivery.Event.OutboxIndex, 1);
            if (delivery.Span is { } span)
                EventSpans.DeadLettered(span);
            delivery.Tracker.Acknowledged(delivery.Transaction, delivery.Size);
        }
        else
        {
            DeadLetterFailed(delivery, error);
        }
    }

    private OutboxDefinition OutboxOf(Delivery delivery) => _outboxes.All[delivery.Event.OutboxIndex];

    private void DeadLetterFailed(Delivery delivery, Error error)
    {
        var outbox = OutboxOf(delivery);
        Fail(new PublishFailure(
            $"Event {delivery.Event.IdText} (commit LSN {Lsn(delivery.Transaction)}) could not be written to dead-letter topic " +
            $"'{outbox.DeadLetterTopic}' ({outbox.DeadLetterTopicSetting}): {Describe(error)}. The relay stops without confirming it.",
            isFatal: !error.IsFatal && error.Code is not (ErrorCode.Local_PurgeQueue or ErrorCode.Local_PurgeInflight or ErrorCode.Local_Destroy))
        {
            EventId = delivery.Event.IdText,
            CommitLsn = Lsn(delivery.Transaction),
        }, delivery, error);
    }

    /// <summary>Fails the publisher because of one event, whose span (if any) ends with the failure.</summary>
    private void Fail(PublishFailure failure, Delivery delivery, Error error)
    {
        if (delivery.Span is { } span)
            EventSpans.Failed(span, error.Code.ToString(), failure.Message);
        Fail(failure);
    }

    private void Fail(PublishFailure failure)
    {
        if (_failure.TrySet(failure))
        {
            if (failure.EventId is not null)
                _logger.LogError("Event {OutboxEventId} at LSN {CommitLsn}: {Failure}", failure.EventId, failure.CommitLsn, failure.Message);
            else
                _logger.LogError("{Failure}", failure.Message);
        }
    }

    private void OnError(Error error)
    {
        if (error.Code == ErrorCode.Local_AllBrokersDown)
            _brokersDown = true;
        if (error.IsFatal)
            Fail(new PublishFailure($"Kafka producer hit a fatal error: {Describe(error)}", isFatal: false));
        else
            _logger.LogWarning("Kafka: {Reason} ({Code})", error.Reason, error.Code);
    }

    /// <summary>librdkafka's log lines, on its own threads: warnings and worse are logged, finer levels dropped.</summary>
    private void OnLog(LogMessage log)
    {
        if (log.Level <= SyslogLevel.Warning)
            _logger.LogWarning("librdkafka {Facility}: {Message}", log.Facility, log.Message);
    }

    private static string DescribeConfigurationError(KafkaOptions kafka, string reason)
    {
        foreach (var (name, value) in kafka.Properties)
        {
            if (SecretSettings.IsSecret(name) && value.Length > 0)
                reason = reason.Replace(value, "***", StringComparison.Ordinal);
        }
        var set = kafka.Properties.Count == 0 ? "none" : string.Join(", ", kafka.Properties.Keys.Order(StringComparer.Ordinal));
        return $"librdkafka refused the producer configuration: {reason}. Check Cdc:Kafka:Properties (env Cdc__Kafka__Properties__NAME; set: {set}) " +
               "and Cdc:Kafka:BootstrapServers.";
    }

    /// <summary>A topic name built from a huge aggregate_type must not make a megabyte log line.</summary>
    private static string Abbreviate(string text) => text.Length <= 300 ? text : $"{text[..300]}... ({text.Length} characters)";

    private static string Lsn(TrackedTransaction transaction) => new NpgsqlLogSequenceNumber(transaction.CommitLsn).ToString();

    private static string Describe(Error error) => $"{error.Reason} ({error.Code})";

    /// <summary>
    /// Destroys the client. Messages still queued are dropped unconfirmed (so they are read and sent again), and
    /// Confluent.Kafka never reports them: dispose a publisher only when <see cref="QueuedMessages"/> is zero or
    /// the process is ending, or their reports' state stays allocated.
    /// </summary>
    public void Dispose()
    {
        _values?.Dispose();
        _topicMetadata.Dispose();
        _producer.Dispose();
    }

    /// <summary>
    /// The state of one event from the publish queue to its delivery report (of the event, or of its dead letter).
    /// A class, not a tuple, in the queue: the runtime's precompiled code for channels of reference types serves it,
    /// where a channel of a value tuple ran as quick-JIT code (docs/benchmarks.md, "Second round, part six").
    /// </summary>
    internal sealed class Delivery
    {
        private readonly KafkaPublisher _publisher;

        public Delivery(KafkaPublisher publisher, OutboxEvent outboxEvent, TrackedTransaction transaction, AcknowledgementTracker tracker)
        {
            _publisher = publisher;
            ReportHandler = Report;
            Event = outboxEvent;
            Transaction = transaction;
            Tracker = tracker;
            Size = outboxEvent.Size;
        }

        public OutboxEvent Event { get; }
        public TrackedTransaction Transaction { get; }
        public AcknowledgementTracker Tracker { get; }
        public int Size { get; }
        public string? Topic { get; set; }

        /// <summary>The handler given to Produce: the event's own, since the client hands no other state back with a report.</summary>
        public Action<DeliveryReport<byte[]?, byte[]?>> ReportHandler { get; }

        private void Report(DeliveryReport<byte[]?, byte[]?> report) => _publisher.OnDelivered(this, report);

        /// <summary>Set before the dead letter is produced: its delivery report is the dead letter's.</summary>
        public bool IsDeadLetter { get; set; }

        /// <summary>The event's span, when tracing is on and the event has one; ended with its delivery report.</summary>
        public Activity? Span { get; set; }
    }
}

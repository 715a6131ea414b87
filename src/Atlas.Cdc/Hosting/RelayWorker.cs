using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Postgres;
using Atlas.Cdc.Publishing;
using Microsoft.Extensions.Options;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Runs replication sessions one after another: reconnects with backoff after transient failures, waits as a
/// standby while another relay holds the slot, and ends the process with a clear error on fatal configuration.
/// The Kafka producer outlives sessions, so a PostgreSQL restart does not cost the Kafka connections.
/// The worker is the only writer of the stream state in <see cref="RelayStatus"/>: a session reports what it is
/// doing through <see cref="ISessionReporter"/> and how it ended as a <see cref="SessionOutcome"/>.
/// </summary>
internal sealed class RelayWorker(
    IOptions<CdcOptions> optionsAccessor,
    OutboxCatalog outboxes,
    RelayStatus status,
    RelayMetrics metrics,
    SchemaMetrics schemaMetrics,
    ILoggerFactory loggerFactory,
    IHostApplicationLifetime lifetime) : BackgroundService, ISessionReporter
{
    private readonly CdcOptions _options = optionsAccessor.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger<RelayWorker>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var target = PostgresConnectionStrings.Describe(_options.Postgres.ConnectionString);
        _logger.LogInformation("Relaying inserts on {Table} from PostgreSQL {Target} to Kafka {Bootstrap}",
            outboxes, target, _options.Kafka.BootstrapServers);
        _logger.LogInformation("Kafka client: Confluent.Kafka on librdkafka {Version}", Confluent.Kafka.Library.VersionString);

        KafkaPublisher? publisher = null;
        ulong acknowledgedLsn = 0;
        var delay = _options.ReconnectDelay;
        var standbyLogged = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    publisher ??= new KafkaPublisher(_options, outboxes, metrics, schemaMetrics, loggerFactory.CreateLogger<KafkaPublisher>());
                }
                catch (FatalConfigurationException e)
                {
                    Exit(ExitCodes.Configuration, e.Message);
                    return;
                }
                var session = new ReplicationSession(_options, outboxes, publisher, this, metrics, _logger);
                status.Publisher = publisher;
                var outcome = await session.RunAsync(acknowledgedLsn, stoppingToken);
                switch (outcome.Failure)
                {
                    case null:
                        return; // only a shutdown ends a session without a failure
                    case OperationCanceledException when stoppingToken.IsCancellationRequested:
                        return;
                    case var e when PostgresFailures.AsFatal(e, target) is { } fatal:
                        Exit(ExitCodes.Configuration, fatal.Message);
                        return;
                    case PublishFailure { IsFatal: true } halt:
                        Exit(ExitCodes.Halted, halt.Message);
                        return;
                    case SlotInUseException:
                        if (!standbyLogged)
                            _logger.LogInformation("Replication slot {Slot} is held by another relay; standing by and retrying every {Interval}",
                                _options.Slot, Durations.Format(_options.StandbyRetryInterval));
                        standbyLogged = true;
                        status.State = StreamState.Standby;
                        await Delay(_options.StandbyRetryInterval, stoppingToken);
                        continue;
                    case var e:
                        standbyLogged = false;
                        if (outcome.Streamed)
                            delay = _options.ReconnectDelay;
                        status.State = StreamState.Reconnecting;
                        metrics.Reconnects.Add(1);
                        _logger.LogWarning("Replication session ended: {Reason}. Reconnecting in {Delay}", Describe(e), Durations.Format(delay));
                        await Delay(delay, stoppingToken);
                        delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
                        break;
                }

                // What Kafka acknowledged is safe to skip next time, even though this session could not confirm it.
                acknowledgedLsn = Math.Max(acknowledgedLsn, outcome.AcknowledgedLsn);
                if (publisher.Failure is not null)
                {
                    // Replaced only once every message has its report: Confluent's client never reports the messages
                    // that Dispose drops, and their state would stay allocated. A failed client fails them quickly.
                    await publisher.WaitForReportsAsync(stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    publisher.Dispose();
                    publisher = null;
                }
                else if (publisher.QueuedMessages > 0)
                {
                    // A healthy producer keeps them, in order; the next session's events follow once they are answered.
                    _logger.LogInformation("{Count} messages of the ended session are still in the Kafka producer; the next session publishes after them",
                        publisher.QueuedMessages);
                }
            }
        }
        finally
        {
            status.State = StreamState.Stopped;
            publisher?.Dispose();
        }
    }

    void ISessionReporter.Backfilling() => status.State = StreamState.Backfilling;

    void ISessionReporter.Tracking(AcknowledgementTracker tracker) => status.Tracker = tracker;

    void ISessionReporter.Streaming() => status.State = StreamState.Streaming;

    void ISessionReporter.Confirmed(ulong lsn) => status.ConfirmedLsn = lsn;

    private void Exit(int exitCode, string message)
    {
        _logger.LogCritical(ExitCodes.FatalPrefix + "{Message}", message);
        status.State = StreamState.Stopped;
        Environment.ExitCode = exitCode;
        lifetime.StopApplication();
    }

    private static string Describe(Exception exception) => exception switch
    {
        PublishFailure failure => failure.Message,
        _ => PostgresFailures.Describe(exception),
    };

    private static async Task Delay(TimeSpan delay, CancellationToken cancellationToken) =>
        await Task.Delay(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
}

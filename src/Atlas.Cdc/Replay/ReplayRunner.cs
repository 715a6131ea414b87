using System.Runtime.InteropServices;
using Atlas.Cdc.Events;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Postgres;
using Atlas.Cdc.Publishing;
using Atlas.Cdc.Reading;

namespace Atlas.Cdc.Replay;

/// <summary>
/// Runs <c>replay</c>: reads the matching outbox rows in one snapshot, publishes them with the relay's producer
/// settings, waits until Kafka acknowledged every one, and prints one line on stdout. It opens no replication
/// connection, so the slot and a running relay are untouched.
/// </summary>
internal static class ReplayRunner
{
    private const int BatchSize = 1000;

    public static async Task<int> RunAsync(ReplayRequest request)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });

        var errors = RelaySettings.Load(RelaySettings.ReadConfiguration(), out var options);
        if (errors.Count > 0)
        {
            foreach (var error in errors)
                await Console.Error.WriteLineAsync(ExitCodes.FatalPrefix + error);
            return ExitCodes.Configuration;
        }

        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddSimpleConsole(console => console.SingleLine = true)
            .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
        var cancellationToken = cancellation.Token;
        long published = 0;
        try
        {
            var filter = request.Filter;
            var outboxes = OutboxCatalog.From(options);
            if (filter.Outboxes?.FirstOrDefault(name => outboxes.ForName(name) is null) is { } name)
            {
                await Console.Error.WriteLineAsync($"{ExitCodes.FatalPrefix}--outbox '{name}' is not an outbox of the settings; they are: " +
                                                   string.Join(", ", outboxes.All.Select(o => o.Name)) + ".");
                return ExitCodes.Configuration;
            }
            IReadOnlySet<Guid>? deadLetters = null;
            if (request.DeadLetters)
            {
                // The dead-letter topics of the outboxes replayed; an id found in another outbox's topic has no row here.
                var topics = outboxes.All.Where(o => filter.Outboxes is not { } only || only.Contains(o.Name))
                    .GroupBy(o => o.DeadLetterTopic, StringComparer.Ordinal)
                    .Select(g => (g.Key, g.First().DeadLetterTopicSetting))
                    .ToList();
                deadLetters = DeadLetterReader.ReadIds(options, topics, cancellationToken);
                filter = filter with { Ids = filter.Ids.Count == 0 ? deadLetters : [.. filter.Ids.Intersect(deadLetters)] };
                if (filter.Ids.Count == 0)
                {
                    Console.WriteLine($"0 events {(request.DryRun ? "would be " : "")}published again: dead-letter topic " +
                                      $"{string.Join(", ", topics.Select(t => $"'{t.Key}'"))} holds no matching events");
                    return 0;
                }
            }

            var table = filter.Outboxes is { } only ? string.Join(", ", only.Select(name => outboxes.ForName(name))) : outboxes.ToString();
            await using var reader = await OutboxTableReader.OpenAsync(options.Postgres.ConnectionString, outboxes, snapshotName: null, cancellationToken);
            var count = await reader.CountAsync(filter, cancellationToken);
            if (deadLetters is not null && count < filter.Ids.Count)
                await Console.Error.WriteLineAsync($"{filter.Ids.Count - count} of {filter.Ids.Count} dead-lettered events have no row in {table} " +
                                                   (filter.Outboxes is null
                                                       ? "any more (deleted by retention or by hand): they cannot be published again from the table"
                                                       : "(deleted by retention or by hand, or written to another outbox that shares the dead-letter topic)"));
            if (request.DryRun)
            {
                Console.WriteLine($"{count} events would be published again from {table} (dry run: nothing was published)");
                return 0;
            }

            var commitLsnBound = await reader.WalInsertLsnAsync(cancellationToken);
            // Replayed events get spans too (linked to their rows' traces); disposing the provider exports the last ones.
            using var tracing = TracingHosting.StartForCommand(options.Tracing);
            // Counted on a registry of its own: replay serves no /metrics.
            var registry = Prometheus.Metrics.NewCustomRegistry();
            using var publisher = new KafkaPublisher(options, outboxes, new RelayMetrics(registry, [.. outboxes.All.Select(o => o.Name)]), new Observability.SchemaMetrics(registry),
                loggerFactory.CreateLogger<KafkaPublisher>());
            var tracker = new AcknowledgementTracker(options.MaxInFlightEvents, options.MaxInFlightBytes);
            var progress = new ReplayProgress(count);
            var tablePublisher = new TablePublisher(publisher, tracker);
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                published = await tablePublisher.PublishAsync(reader.ReadAsync(filter, BatchSize, EventOrigin.Replay, cancellationToken),
                    commitLsnBound, request.MaxRate, progress.Report, cancellationToken);
            }
            finally
            {
                published = Math.Max(published, tablePublisher.Sent);
                progress.Done();
            }
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{published} events published again from {table} and acknowledged by Kafka in {stopwatch.Elapsed.TotalSeconds:F1} s"));
            return 0;
        }
        catch (FatalConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"Atlas.Cdc: {e.Message}");
            return ExitCodes.Configuration;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"Atlas.Cdc replay interrupted after {published} events were sent; run it again to publish the rest (duplicates are dropped by id)");
            return ExitCodes.Failed;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var reason = PostgresFailures.AsFatal(e, PostgresConnectionStrings.Describe(options.Postgres.ConnectionString))?.Message
                         ?? (e is PublishFailure ? e.Message : PostgresFailures.Describe(e));
            await Console.Error.WriteLineAsync($"Atlas.Cdc replay failed: {reason}");
            return ExitCodes.Failed;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Sandbox;
using Npgsql;

namespace Atlas.Cdc.Demo;

/// <summary>
/// The relay's embedded default: a throwaway PostgreSQL with sql/ applied, an in-process Kafka-protocol broker,
/// the relay itself (in this process, configured exactly as in production), a small generator writing sample
/// events as the least-privilege writer role, and a consumer printing each event as it arrives in Kafka.
/// </summary>
internal static class Demo
{
    private static readonly string[] s_aggregates = ["Order", "Payment", "Shipment"];

    /// <summary>Runs until Ctrl+C / SIGTERM, or for <paramref name="duration"/> when given.</summary>
    /// <param name="duration">Stop by itself after this long (used by smoke checks); null runs until interrupted.</param>
    /// <param name="httpUrl">Where the relay serves /healthz, /readyz and /metrics.</param>
    /// <returns>Process exit code: 0 when events flowed end to end.</returns>
    public static async Task<int> RunAsync(TimeSpan? duration, string httpUrl)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        if (duration is { } limit)
            stop.CancelAfter(limit);

        Say("starting a throwaway PostgreSQL 15 (wal_level=logical) and applying sql/ ...");
        await using var postgres = await TemporaryPostgres.StartAsync();
        using var kafka = MockKafkaCluster.Start(brokers: 3);
        foreach (var aggregate in s_aggregates)
            kafka.CreateTopic(Topic(aggregate), partitions: 4);
        Say($"PostgreSQL on 127.0.0.1:{postgres.Port}; Kafka-protocol broker (librdkafka mock, 3 brokers) at {kafka.BootstrapServers}");

        var settings = new Dictionary<string, string?>
        {
            ["Cdc:Postgres:ConnectionString"] = postgres.ConnectionStringFor("atlas_cdc_relay"),
            ["Cdc:Kafka:BootstrapServers"] = kafka.BootstrapServers,
            ["Cdc:Http:Url"] = httpUrl,
            ["Logging:Console:FormatterOptions:SingleLine"] = "true",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        };
        var relay = RelayHost.RunAsync([], settings, stop.Token);
        Say($"relay started: metrics at {httpUrl}/metrics, readiness at {httpUrl}/readyz; Ctrl+C stops everything");

        var delivered = 0L;
        var consumers = s_aggregates.Select(aggregate => Task.Run(async () =>
        {
            try
            {
                await foreach (var record in KafkaTopicReader.TailAsync(kafka.BootstrapServers, Topic(aggregate), cancellationToken: stop.Token))
                {
                    Interlocked.Increment(ref delivered);
                    var commitTime = DateTimeOffset.Parse(record.Header("atlas.commit_time") ?? "", CultureInfo.InvariantCulture);
                    var latency = (record.ReceivedAt - commitTime).TotalMilliseconds;
                    Say($"kafka <- {record.Topic} key={record.Key} {record.Header("event_type")} id={record.Header("id")} " +
                        $"lsn={record.Header("atlas.commit_lsn")} {latency:F0} ms after commit  {record.Payload}");
                }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToList();

        var generator = Task.Run(() => GenerateAsync(postgres.ConnectionStringFor("postgres"), stop.Token));
        var reporter = Task.Run(() => ReportAsync(httpUrl, stop.Token));

        var exitCode = await relay;
        await stop.CancelAsync();
        await Task.WhenAll([generator, reporter, .. consumers]);
        Say($"stopped: relay exit code {exitCode}, {Interlocked.Read(ref delivered)} events seen in Kafka");
        return exitCode == 0 && Interlocked.Read(ref delivered) > 0 ? 0 : 1;
    }

    /// <summary>Business transactions of one to three events, written as atlas_cdc_writer (INSERT only).</summary>
    private static async Task GenerateAsync(string connectionString, CancellationToken cancellationToken)
    {
        var random = new Random();
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using (var role = new NpgsqlCommand("SET ROLE atlas_cdc_writer", connection))
                await role.ExecuteNonQueryAsync(cancellationToken);
            for (var n = 1; !cancellationToken.IsCancellationRequested; n++)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                var aggregate = s_aggregates[random.Next(s_aggregates.Length)];
                var events = random.Next(1, 4);
                for (var e = 0; e < events; e++)
                {
                    await using var insert = new NpgsqlCommand(
                        "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, headers) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)",
                        connection, transaction);
                    insert.Parameters.Add(new NpgsqlParameter { Value = aggregate });
                    insert.Parameters.Add(new NpgsqlParameter { Value = $"{aggregate.ToLowerInvariant()}-{random.Next(1, 6)}" });
                    insert.Parameters.Add(new NpgsqlParameter { Value = $"{aggregate}Updated" });
                    insert.Parameters.Add(new NpgsqlParameter { Value = $$"""{"n": {{n}}, "step": {{e}}, "amount": {{random.Next(1, 500)}}}""" });
                    insert.Parameters.Add(new NpgsqlParameter { Value = $$"""{"traceparent": "00-{{Guid.NewGuid():N}}-{{random.NextInt64():x16}}-01"}""" });
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                await transaction.CommitAsync(cancellationToken);
                await Task.Delay(random.Next(300, 1200), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Every ten seconds, a few figures from the relay's own /metrics.</summary>
    private static async Task ReportAsync(string httpUrl, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(httpUrl), Timeout = TimeSpan.FromSeconds(5) };
        string[] wanted = ["atlas_cdc_events_published_total", "atlas_cdc_lag_seconds", "atlas_cdc_replication_lag_bytes", "atlas_cdc_end_to_end_latency_seconds_count"];
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
                try
                {
                    var lines = (await http.GetStringAsync("/metrics", cancellationToken)).Split('\n')
                        .Where(line => wanted.Any(w => line.StartsWith(w, StringComparison.Ordinal)));
                    Say("metrics: " + string.Join("  ", lines));
                }
                catch (HttpRequestException e)
                {
                    Say($"metrics: unavailable ({e.Message})");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Topic(string aggregate) => $"outbox.event.{aggregate}";

    private static readonly Stopwatch s_clock = Stopwatch.StartNew();

    private static void Say(string line) => Console.WriteLine($"[demo {s_clock.Elapsed:mm\\:ss}] {line}");
}

using System.Diagnostics;
using System.Globalization;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Outbox;
using Atlas.Cdc.Sandbox;
using Atlas.Cdc.Sandbox.SchemaRegistry;
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
    /// <param name="avro">Avro values through the schema registry stand-in, schemas registered from samples/schemas.</param>
    /// <returns>Process exit code: 0 when events flowed end to end.</returns>
    public static async Task<int> RunAsync(TimeSpan? duration, string httpUrl, bool avro = false)
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
        await using var registry = avro ? await SchemaRegistryStandIn.StartAsync() : null;
        using var decoder = registry is null ? null : new AvroRecordDecoder(registry.Url);
        if (registry is not null)
        {
            settings["Cdc:Value:Format"] = "Avro";
            settings["Cdc:SchemaRegistry:Url"] = registry.Url;
            settings["Cdc:SchemaRegistry:SchemasPath"] = Path.Combine(RepositoryPaths.Root, "samples", "schemas");
            Say($"schema registry STAND-IN at {registry.Url} (no registry server is installable here); the relay registers samples/schemas/*.avsc");
        }
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
                    var value = decoder is null ? record.Payload : await DecodeAvroAsync(decoder, record.PayloadBytes);
                    Say($"kafka <- {record.Topic} key={record.Key} {record.Header("event_type")} id={record.Header("id")} " +
                        $"lsn={record.Header("atlas.commit_lsn")} {latency:F0} ms after commit  {value}");
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

    /// <summary>An Avro value as a consumer sees it: schema id from the header, writer schema fetched by id, decoded.</summary>
    private static async Task<string> DecodeAvroAsync(AvroRecordDecoder decoder, byte[]? value)
    {
        try
        {
            var (schemaId, datum) = await decoder.DecodeAsync(value ?? []);
            return $"avro {value!.Length} bytes, schema id {schemaId}: {AvroRecordDecoder.Render(datum)}";
        }
        catch (Exception e) when (e is InvalidDataException or HttpRequestException or Avro.AvroException)
        {
            return $"(not decodable as Avro: {e.Message})";
        }
    }

        /// <summary>Business transactions of one to three events, written with Atlas.Cdc.Outbox as atlas_cdc_writer (INSERT only).</summary>
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
                // A span per business transaction: the library writes its traceparent into each event's headers.
                using var span = new Activity("demo.business-transaction").Start();
                var aggregate = s_aggregates[random.Next(s_aggregates.Length)];
                var id = $"{aggregate.ToLowerInvariant()}-{random.Next(1, 6)}";
                var events = Enumerable.Range(0, random.Next(1, 4)).Select(step => (object)(aggregate switch
                {
                    "Order" => new OrderUpdated(id, n, step, random.Next(1, 500)),
                    "Payment" => new PaymentUpdated(id, n, step, random.Next(1, 500)),
                    _ => new ShipmentUpdated(id, n, step, random.Next(1, 500)),
                }));
                await connection.AddOutboxEventsAsync(events, transaction, cancellationToken: cancellationToken);
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

using System.Globalization;
using System.Text;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Publishing;
using Confluent.Kafka;
using Npgsql;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// THE BASELINE, not the product: a polling outbox relay as the design ADRs describe the alternative, written
/// to be a fair opponent. One connection, prepared statements, the relay's own producer settings. Each round:
/// BEGIN; SELECT a batch of unpublished rows in sequence order FOR UPDATE SKIP LOCKED; produce them and wait
/// for every acknowledgement; UPDATE ... SET published_at = now(); COMMIT; sleep the poll interval only when the
/// batch was empty. Runs as a child process (<c>polling-relay</c> command) so its CPU and memory are its own.
/// Prints <c>published N</c> after every batch.
/// </summary>
internal static class PollingRelay
{
    public const int DefaultBatchSize = 500;
    public const int DefaultIntervalMilliseconds = 100;

    public static async Task<int> RunAsync(string[] args)
    {
        string? connectionString = null, bootstrap = null, topicPrefix = null;
        var batchSize = DefaultBatchSize;
        var interval = TimeSpan.FromMilliseconds(DefaultIntervalMilliseconds);
        var kafka = new KafkaOptions();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--connection": connectionString = args[i + 1]; break;
                case "--bootstrap": bootstrap = args[i + 1]; break;
                case "--topic-prefix": topicPrefix = args[i + 1]; break;
                case "--batch": batchSize = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--interval-ms": interval = TimeSpan.FromMilliseconds(int.Parse(args[i + 1], CultureInfo.InvariantCulture)); break;
                case "--kafka":
                    var (name, value) = SplitSetting(args[i + 1]);
                    kafka.Properties[name] = value;
                    break;
                default: throw new ArgumentException($"polling-relay: unknown option {args[i]}");
            }
        }
        if (connectionString is null || bootstrap is null || topicPrefix is null)
            throw new ArgumentException("polling-relay needs --connection, --bootstrap and --topic-prefix");
        kafka.BootstrapServers = bootstrap;

        NativeLibrdkafka.UseSystemLibraryWhenBundledIsMissing();
        using var producer = new ProducerBuilder<byte[], byte[]>(ProducerSettings.Build(kafka)).Build();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        await using var select = new NpgsqlCommand("""
            SELECT seq, id::text, aggregate_type, aggregate_id, event_type, payload::text
            FROM public.outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
            """, connection);
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
        await select.PrepareAsync();
        await using var markDone = new NpgsqlCommand("UPDATE public.outbox SET published_at = now() WHERE seq = ANY($1)", connection);
        var seqs = new NpgsqlParameter<long[]> { TypedValue = [] };
        markDone.Parameters.Add(seqs);
        await markDone.PrepareAsync();

        long published = 0;
        var batch = new List<long>(batchSize);
        Error? failure = null;
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            batch.Clear();
            await using (var reader = await select.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    batch.Add(reader.GetInt64(0));
                    var aggregateType = reader.GetString(2);
                    var message = new Message<byte[], byte[]>
                    {
                        Key = Encoding.UTF8.GetBytes(reader.GetString(3)),
                        Value = Encoding.UTF8.GetBytes(reader.GetString(5)),
                        Headers = new Headers
                        {
                            { "id", Encoding.UTF8.GetBytes(reader.GetString(1)) },
                            { "event_type", Encoding.UTF8.GetBytes(reader.GetString(4)) },
                            { "aggregate_type", Encoding.UTF8.GetBytes(aggregateType) },
                        },
                    };
                    producer.Produce($"{topicPrefix}.{aggregateType}", message, report =>
                    {
                        if (report.Error.Code != ErrorCode.NoError)
                            failure ??= report.Error;
                    });
                }
            }

            if (batch.Count == 0)
            {
                await transaction.CommitAsync();
                await Task.Delay(interval);
                continue;
            }

            // Rows are marked done only after Kafka acknowledged every one of them: at least once.
            if (producer.Flush(TimeSpan.FromMinutes(1)) != 0 || failure is not null)
            {
                await Console.Error.WriteLineAsync($"polling-relay: Kafka did not acknowledge the batch: {failure?.Reason ?? "timeout"}");
                return 1;
            }
            seqs.TypedValue = [.. batch];
            await markDone.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            published += batch.Count;
            Console.Out.WriteLine($"published {published}");
        }
    }

    internal static (string Name, string Value) SplitSetting(string setting)
    {
        var equals = setting.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
            throw new ArgumentException($"Expected NAME=VALUE, got '{setting}'.");
        return (setting[..equals], setting[(equals + 1)..]);
    }
}

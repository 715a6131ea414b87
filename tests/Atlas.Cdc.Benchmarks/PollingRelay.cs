using System.Globalization;
using System.Text;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Publishing;
using Atlas.Cdc.Schemas;
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

        using var producer = new ProducerBuilder<byte[], byte[]>(ProducerSettings.Build(kafka)).Build();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        await using var select = new NpgsqlCommand("""
            SELECT id, aggregate_type, aggregate_id, event_type, payload::text
            FROM public.outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
            """, connection);
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
        await select.PrepareAsync();
        // By primary key: each row is found through the index, whatever the table's size.
        await using var markDone = new NpgsqlCommand("UPDATE public.outbox SET published_at = now() WHERE id = ANY($1)", connection);
        var ids = new NpgsqlParameter<Guid[]> { TypedValue = [] };
        markDone.Parameters.Add(ids);
        await markDone.PrepareAsync();

        long published = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double selecting = 0, producing = 0, flushing = 0, marking = 0, committing = 0;
        double Lap()
        {
            var lap = clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            return lap;
        }
        var batch = new List<Guid>(batchSize);
        Error? failure = null;
        var pending = 0;
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            batch.Clear();
            Volatile.Write(ref pending, 1); // held by this loop until every produce call of the batch is made
            var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Lap();
            await using (var reader = await select.ExecuteReaderAsync())
            {
                selecting += Lap();
                while (await reader.ReadAsync())
                {
                    var id = reader.GetGuid(0);
                    batch.Add(id);
                    var aggregateType = reader.GetString(1);
                    var message = new Message<byte[], byte[]>
                    {
                        Key = Encoding.UTF8.GetBytes(reader.GetString(2)),
                        Value = Encoding.UTF8.GetBytes(reader.GetString(4)),
                        Headers = new Headers
                        {
                            { "id", Encoding.UTF8.GetBytes(id.ToString()) },
                            { "event_type", Encoding.UTF8.GetBytes(reader.GetString(3)) },
                            { "aggregate_type", Encoding.UTF8.GetBytes(aggregateType) },
                        },
                    };
                    Interlocked.Increment(ref pending);
                    producer.Produce($"{topicPrefix}.{aggregateType}", message, report =>
                    {
                        if (report.Error.Code != ErrorCode.NoError)
                            failure ??= report.Error;
                        if (Interlocked.Decrement(ref pending) == 0)
                            acknowledged.TrySetResult();
                    });
                }
            }

            producing += Lap();
            if (batch.Count == 0)
            {
                await transaction.CommitAsync();
                await Task.Delay(interval);
                continue;
            }

            // Rows are marked done only after Kafka acknowledged every one of them: at least once.
            // Delivery reports count the batch down; no Flush, which polls in 10 ms slices.
            if (Interlocked.Decrement(ref pending) == 0)
                acknowledged.TrySetResult();
            await acknowledged.Task.WaitAsync(TimeSpan.FromMinutes(1)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!acknowledged.Task.IsCompleted || failure is not null)
            {
                await Console.Error.WriteLineAsync($"polling-relay: Kafka did not acknowledge the batch: {failure?.Reason ?? "timeout"}");
                return 1;
            }
            flushing += Lap();
            ids.TypedValue = [.. batch];
            await markDone.ExecuteNonQueryAsync();
            marking += Lap();
            await transaction.CommitAsync();
            committing += Lap();
            published += batch.Count;
            Console.Out.WriteLine($"published {published}");
            Console.Out.WriteLine($"phases select+read {selecting:0} ms, produce {producing:0} ms, wait for acks {flushing:0} ms, " +
                                  $"update {marking:0} ms, commit {committing:0} ms (batches with rows only)");
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

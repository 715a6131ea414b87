using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Atlas.Cdc.Outbox;
using Atlas.Cdc.Sandbox;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Benchmarks.OutboxWriter;

/// <summary>
/// The outbox writer library against a hand-written INSERT of the same row, in the same business transaction
/// (INSERT into orders, the event, COMMIT), on one connection to a throwaway PostgreSQL, synchronous_commit on.
/// Variants run interleaved in rounds so drift on a shared machine hits them alike. About 20 s on a quiet machine.
/// </summary>
internal static class OutboxWriterBenchmark
{
    private const int Rounds = 5;
    private const int TransactionsPerRound = 150;
    private const int BatchesPerRound = 6;
    private const int BatchSize = 100;

    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync()
    {
        var total = Stopwatch.StartNew();
        Progress.Write("outbox writer: starting PostgreSQL 15 with sql/ applied");
        await using var postgres = await TemporaryPostgres.StartAsync();
        await postgres.ExecuteAsync("CREATE TABLE orders (id uuid PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL)");
        await using var connection = new NpgsqlConnection(postgres.SuperuserConnectionString);
        await connection.OpenAsync();

        var samples = new Dictionary<string, List<double>>
        {
            ["business only"] = [], ["hand-written INSERT"] = [], ["library"] = [],
            ["hand-written, 100 INSERTs"] = [], ["library, batch of 100"] = [],
        };
        // The event's own step (serialize, checks, INSERT round trip), without the business INSERT and the COMMIT.
        var writeSteps = samples.Keys.ToDictionary(k => k, _ => new List<double>());
        using var span = new Activity("bench.business-transaction").Start();

        for (var round = 0; round <= Rounds; round++)
        {
            var warmUp = round == 0;
            Progress.Write(warmUp ? "outbox writer: warm-up round" : $"outbox writer: round {round} of {Rounds}");
            for (var i = 0; i < TransactionsPerRound; i++)
            {
                await TimeAsync(samples["business only"], writeSteps["business only"], warmUp, connection, 0, (_, _) => Task.CompletedTask);
                await TimeAsync(samples["hand-written INSERT"], writeSteps["hand-written INSERT"], warmUp, connection, 1, HandWrittenAsync);
                await TimeAsync(samples["library"], writeSteps["library"], warmUp, connection, 1, LibraryAsync);
            }
            for (var i = 0; i < BatchesPerRound; i++)
            {
                await TimeAsync(samples["hand-written, 100 INSERTs"], writeSteps["hand-written, 100 INSERTs"], warmUp, connection, BatchSize, HandWrittenAsync);
                await TimeAsync(samples["library, batch of 100"], writeSteps["library, batch of 100"], warmUp, connection, BatchSize, LibraryAsync);
            }
        }

        Console.Out.Write(Render(samples, writeSteps, total.Elapsed));
        return 0;
    }

    /// <summary>One business transaction: an order row, <paramref name="events"/> events written by <paramref name="write"/>, COMMIT.</summary>
    private static async Task TimeAsync(
        List<double> samples, List<double> writeSteps, bool warmUp, NpgsqlConnection connection, int events, Func<NpgsqlTransaction, List<BenchOrderPlaced>, Task> write)
    {
        var orders = Enumerable.Range(0, Math.Max(events, 1)).Select(_ => NewEvent()).ToList();
        var stopwatch = Stopwatch.StartNew();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var business = new NpgsqlCommand("INSERT INTO orders (id, customer, total) VALUES ($1, $2, $3)", connection, transaction))
            {
                business.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = orders[0].OrderId });
                business.Parameters.Add(new NpgsqlParameter<string> { TypedValue = orders[0].Customer });
                business.Parameters.Add(new NpgsqlParameter<decimal> { TypedValue = orders[0].Total });
                await business.ExecuteNonQueryAsync();
            }
            var step = Stopwatch.GetTimestamp();
            if (events > 0)
                await write(transaction, orders);
            if (!warmUp)
                writeSteps.Add(Stopwatch.GetElapsedTime(step).TotalMilliseconds);
            await transaction.CommitAsync();
        }
        if (!warmUp)
            samples.Add(stopwatch.Elapsed.TotalMilliseconds);
    }

    /// <summary>What an application team writes today: serialize, format the trace header, one INSERT per event.</summary>
    private static async Task HandWrittenAsync(NpgsqlTransaction transaction, List<BenchOrderPlaced> events)
    {
        foreach (var order in events)
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload, headers) VALUES ($1, $2, $3, $4, $5, $6)",
                transaction.Connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.CreateVersion7() });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "Order" });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = order.OrderId.ToString() });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "OrderPlaced" });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(order, s_web), NpgsqlDbType = NpgsqlDbType.Jsonb });
            insert.Parameters.Add(new NpgsqlParameter<string>
            {
                TypedValue = $$"""{"traceparent": "{{Activity.Current?.Id}}"}""",
                NpgsqlDbType = NpgsqlDbType.Jsonb,
            });
            await insert.ExecuteNonQueryAsync();
        }
    }

    private static async Task LibraryAsync(NpgsqlTransaction transaction, List<BenchOrderPlaced> events)
    {
        if (events.Count == 1)
            await transaction.Connection!.AddOutboxEventAsync(events[0], transaction);
        else
            await transaction.Connection!.AddOutboxEventsAsync(events, transaction);
    }

    private static BenchOrderPlaced NewEvent() => new()
    {
        OrderId = Guid.NewGuid(),
        Customer = "customer-" + Random.Shared.Next(1000),
        Total = Random.Shared.Next(1, 100_000) / 100m,
        Items = ["book", "pen", "lamp"],
    };

    private static string Render(Dictionary<string, List<double>> samples, Dictionary<string, List<double>> writeSteps, TimeSpan elapsed)
    {
        var stats = samples.ToDictionary(s => s.Key, s => LatencyStats.From(s.Value));
        var steps = writeSteps.ToDictionary(s => s.Key, s => LatencyStats.From(s.Value));
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"## Outbox writer library (Atlas.Cdc.Outbox), {Environment.ProcessorCount} cores, {elapsed.TotalSeconds:F0} s");
        text.AppendLine();
        text.AppendLine("| business transaction (INSERT order, events, COMMIT) | transactions | transaction p50 ms | p90 ms | event step p50 ms | events/s (1 connection) |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var (name, s) in stats)
        {
            var events = name.Contains("100", StringComparison.Ordinal) ? BatchSize : name == "business only" ? 0 : 1;
            var rate = events == 0 ? "-" : (events * 1000 / s.Mean).ToString("N0", c);
            var step = events == 0 ? "-" : steps[name].P50.ToString("F3", c);
            text.AppendLine(c, $"| {name} | {s.Count} | {s.P50:F3} | {s.P90:F3} | {step} | {rate} |");
        }
        text.AppendLine();
        text.AppendLine(c, $"One event, library vs hand-written INSERT: business transaction p50 {Percent(stats["library"].P50, stats["hand-written INSERT"].P50)} " +
            $"(target <= +10 %); the event's own step p50 {Percent(steps["library"].P50, steps["hand-written INSERT"].P50)}.");
        text.AppendLine(c, $"Batch of 100: the library's step {steps["library, batch of 100"].P50:F2} ms (one round trip) vs 100 hand-written INSERTs " +
            $"{steps["hand-written, 100 INSERTs"].P50:F2} ms (p50).");
        return text.ToString();
    }

    private static string Percent(double value, double baseline)
    {
        var percent = (value / baseline - 1) * 100;
        return (percent >= 0 ? "+" : "") + percent.ToString("F1", CultureInfo.InvariantCulture) + " %";
    }
}

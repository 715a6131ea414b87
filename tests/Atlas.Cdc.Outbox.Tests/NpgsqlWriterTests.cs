using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>The Npgsql path, as an application's login role with atlas_cdc_writer (INSERT only on the outbox).</summary>
[Collection(OutboxCollection.Name)]
public class NpgsqlWriterTests(OutboxEnvironment environment)
{
    [Fact]
    public async Task Event_is_stored_in_the_callers_transaction_with_its_columns_and_camel_case_payload()
    {
        await using var db = await environment.CreateDatabaseAsync("stored");
        await using var connection = await db.OpenWriterAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var orderId = Guid.NewGuid();

        var result = await connection.AddOutboxEventAsync(new OrderPlaced { OrderId = orderId, Customer = "ada", Total = 12.5m }, transaction);
        Assert.Equal(0, await db.OutboxCountAsync());
        await transaction.CommitAsync();

        Assert.True(result.Inserted);
        Assert.False(result.IsDuplicate);
        var row = Assert.Single(await db.RowsAsync());
        Assert.Equal(result.EventId, row.Id);
        Assert.Equal(("Order", orderId.ToString(), "OrderPlaced"), (row.AggregateType, row.AggregateId, row.EventType));
        using var payload = JsonDocument.Parse(row.Payload);
        Assert.Equal(orderId, payload.RootElement.GetProperty("orderId").GetGuid());
        Assert.Equal("ada", payload.RootElement.GetProperty("customer").GetString());
        Assert.Equal(12.5m, payload.RootElement.GetProperty("total").GetDecimal());
        Assert.Null(row.Headers); // no current activity, no extra headers
        Assert.Null(row.IdempotencyKey);
    }

    [Fact]
    public async Task Rolled_back_business_transaction_writes_no_event()
    {
        await using var db = await environment.CreateDatabaseAsync("rollback");
        await using var connection = await db.OpenWriterAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var orderId = Guid.NewGuid();
            await using (var business = new NpgsqlCommand($"INSERT INTO orders VALUES ('{orderId}', 'ada', 10)", connection, transaction))
                await business.ExecuteNonQueryAsync();
            var result = await connection.AddOutboxEventAsync(new OrderPlaced { OrderId = orderId, Customer = "ada", Total = 10 }, transaction);
            var batch = await transaction.AddOutboxEventsAsync([Payment("p-1"), Payment("p-2")]);
            Assert.True(result.Inserted && batch.All(r => r.Inserted));
            await transaction.RollbackAsync();
        }

        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM orders"));
        Assert.Equal(0, await db.OutboxCountAsync());
    }

    [Fact]
    public async Task Concurrent_writers_each_store_every_event_of_their_committed_transactions()
    {
        await using var db = await environment.CreateDatabaseAsync("concurrent");
        const int Writers = 8, TransactionsPerWriter = 25;

        var ids = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var mine = new List<Guid>();
            await using var connection = await db.OpenWriterAsync();
            for (var t = 0; t < TransactionsPerWriter; t++)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                var orderId = Guid.NewGuid();
                await using (var business = new NpgsqlCommand($"INSERT INTO orders VALUES ('{orderId}', 'w{w}', {t + 1})", connection, transaction))
                    await business.ExecuteNonQueryAsync();
                mine.Add((await connection.AddOutboxEventAsync(new OrderPlaced { OrderId = orderId, Customer = $"w{w}", Total = t + 1 }, transaction)).EventId);
                await transaction.CommitAsync();
            }
            return mine;
        })));

        var written = ids.SelectMany(i => i).ToHashSet();
        Assert.Equal(Writers * TransactionsPerWriter, written.Count);
        var rows = await db.RowsAsync();
        Assert.Equal(written.Order(), rows.Select(r => r.Id).Order());
        Assert.Equal(Writers * TransactionsPerWriter, await db.ScalarAsync<long>("SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task Concurrent_writers_with_the_same_idempotency_key_store_one_event_and_the_others_learn_it_was_a_duplicate()
    {
        await using var db = await environment.CreateDatabaseAsync("concurrentkey");
        const int Writers = 6;
        var connections = await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => db.OpenWriterAsync()));
        var transactions = await Task.WhenAll(connections.Select(c => c.BeginTransactionAsync().AsTask()));

        // All insert before any commits: the later ones wait on the first one's key, then do nothing.
        var writes = connections.Select((c, i) => c.AddOutboxEventAsync(Payment($"p-{i}", commandId: "cmd-42"), transactions[i])).ToList();
        var first = await Task.WhenAny(writes);
        await WaitForLockWaitersAsync(db, Writers - 1);
        var winner = writes.IndexOf(first);
        await transactions[winner].CommitAsync();
        var results = await Task.WhenAll(writes);
        foreach (var (transaction, i) in transactions.Select((t, i) => (t, i)).Where(p => p.i != winner))
            await transaction.CommitAsync();
        foreach (var connection in connections)
            await connection.DisposeAsync();

        Assert.Equal(1, results.Count(r => r.Inserted));
        Assert.True(results[winner].Inserted);
        var row = Assert.Single(await db.RowsAsync());
        Assert.Equal((results[winner].EventId, "cmd-42"), (row.Id, row.IdempotencyKey));
    }

    [Fact]
    public async Task Duplicate_idempotency_key_gives_one_row_and_says_so_also_within_a_batch()
    {
        await using var db = await environment.CreateDatabaseAsync("duplicate");
        await using var connection = await db.OpenWriterAsync();

        var first = await connection.AddOutboxEventAsync(Payment("p-1", commandId: "cmd-1"));
        var retried = await connection.AddOutboxEventAsync(Payment("p-1", commandId: "cmd-1"));
        var byEntry = await connection.AddOutboxEventAsync(new OutboxEventEntry(Payment("p-1")) { IdempotencyKey = "cmd-1" });
        var batch = await connection.AddOutboxEventsAsync(
            [Payment("p-2", commandId: "cmd-2"), Payment("p-1", commandId: "cmd-1"), Payment("p-2", commandId: "cmd-2"), Payment("p-3")]);

        Assert.True(first.Inserted);
        Assert.True(retried.IsDuplicate);
        Assert.True(byEntry.IsDuplicate);
        Assert.Equal([true, false, false, true], batch.Select(r => r.Inserted));
        Assert.Equal(["cmd-2", "cmd-1", "cmd-2", null], batch.Select(r => r.IdempotencyKey));
        var rows = await db.RowsAsync();
        Assert.Equal(3, rows.Count);
        Assert.Equal(new[] { first.EventId, batch[0].EventId, batch[3].EventId }.Order(), rows.Select(r => r.Id).Order());
        Assert.Equal(["cmd-1", "cmd-2"], rows.Select(r => r.IdempotencyKey).OfType<string>().Order());
    }

    [Fact]
    public async Task Key_of_a_rolled_back_event_is_free_again()
    {
        await using var db = await environment.CreateDatabaseAsync("keyrollback");
        await using var connection = await db.OpenWriterAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.True((await connection.AddOutboxEventAsync(Payment("p-1", commandId: "cmd-1"), transaction)).Inserted);
            await transaction.RollbackAsync();
        }

        Assert.True((await connection.AddOutboxEventAsync(Payment("p-1", commandId: "cmd-1"))).Inserted);
        Assert.Equal(1, await db.OutboxCountAsync());
    }

    [Fact]
    public async Task Writer_login_role_has_insert_only_and_that_is_enough_for_events_keys_and_batches()
    {
        await using var db = await environment.CreateDatabaseAsync("writerrole");
        await using var connection = await db.OpenWriterAsync();
        Assert.Equal(db.WriterRole, connection.UserName);
        await using (var read = new NpgsqlCommand("SELECT count(*) FROM public.outbox", connection))
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, (await Assert.ThrowsAsync<PostgresException>(() => read.ExecuteScalarAsync())).SqlState);
        await using (var returning = new NpgsqlCommand(
                         "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('A', 'a', 'E', '{}') RETURNING id", connection))
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, (await Assert.ThrowsAsync<PostgresException>(() => returning.ExecuteScalarAsync())).SqlState);

        Assert.True((await connection.AddOutboxEventAsync(Payment("p-1"))).Inserted);
        Assert.True((await connection.AddOutboxEventAsync(Payment("p-2", commandId: "cmd-2"))).Inserted);
        Assert.True((await connection.AddOutboxEventAsync(Payment("p-2", commandId: "cmd-2"))).IsDuplicate);
        Assert.All(await connection.AddOutboxEventsAsync([Payment("p-3", commandId: "cmd-3"), Payment("p-4")]), r => Assert.True(r.Inserted));
        Assert.Equal(4, await db.OutboxCountAsync());
    }

    [Fact]
    public async Task Batch_of_100_is_one_command_and_lands_whole_or_not_at_all()
    {
        await using var db = await environment.CreateDatabaseAsync("batch");
        await using var connection = await db.OpenWriterAsync();
        var events = Enumerable.Range(0, 100).Select(i => (object)Payment($"p-{i}", commandId: i % 2 == 0 ? $"cmd-{i}" : null)).ToList();

        // Npgsql traces one activity per command it executes (a batch is one); the loop of three shows it counts.
        var (results, batchCommands) = await CountNpgsqlCommandsAsync(() => connection.AddOutboxEventsAsync(events));
        var (_, loopCommands) = await CountNpgsqlCommandsAsync(async () =>
        {
            foreach (var i in new[] { 100, 101, 102 })
                await connection.AddOutboxEventAsync(Payment($"p-{i}"));
            return 0;
        });

        Assert.Equal(1, batchCommands);
        Assert.Equal(3, loopCommands);
        Assert.Equal(100, results.Count(r => r.Inserted));
        var stored = (await db.RowsAsync()).Select(r => r.Id).ToHashSet();
        Assert.Equal(103, stored.Count);
        Assert.Subset(stored, results.Select(r => r.EventId).ToHashSet());

        // A row the server refuses at position 100: without a transaction of the caller's, none of the batch stays.
        await using (var superuser = await db.OpenSuperuserAsync())
            await OutboxDatabase.ExecuteAsync(superuser, "ALTER TABLE public.outbox ADD CONSTRAINT no_poison CHECK (aggregate_id <> 'poison')");
        var before = await db.OutboxCountAsync();
        var poisoned = Enumerable.Range(200, 99).Select(i => (object)Payment($"p-{i}")).Append(Payment("poison")).ToList();
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.AddOutboxEventsAsync(poisoned));
        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
        Assert.Equal(before, await db.OutboxCountAsync());
    }

    [Fact]
    public async Task Batch_of_100_is_one_network_round_trip()
    {
        await using var db = await environment.CreateDatabaseAsync("roundtrip");
        await using var counter = new RoundTripCounter(environment.Postgres.Port);
        var connectionString = new NpgsqlConnectionStringBuilder(db.WriterConnectionString) { Port = counter.Port, Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.AddOutboxEventAsync(Payment("warm-up"), transaction); // BEGIN goes out with the first command

        counter.Reset();
        var results = await connection.AddOutboxEventsAsync(
            Enumerable.Range(0, 100).Select(i => (object)Payment($"p-{i}", commandId: i % 2 == 0 ? $"cmd-{i}" : null)), transaction);
        var batchRoundTrips = counter.RoundTrips;
        counter.Reset();
        for (var i = 0; i < 3; i++)
            await connection.AddOutboxEventAsync(Payment($"q-{i}"), transaction);
        var singleRoundTrips = counter.RoundTrips;
        await transaction.CommitAsync();

        Assert.Equal(1, batchRoundTrips);
        Assert.Equal(3, singleRoundTrips);
        Assert.Equal(100, results.Count(r => r.Inserted));
        Assert.Equal(104, await db.OutboxCountAsync());
    }

    [Fact]
    public async Task Trace_context_of_the_current_activity_goes_into_headers_with_the_callers_extra_headers()
    {
        await using var db = await environment.CreateDatabaseAsync("trace");
        await using var connection = await db.OpenWriterAsync();
        using var parent = new Activity("checkout").AddBaggage("tenant", "acme co").Start();
        using var activity = new Activity("place-order") { TraceStateString = "vendor=abc" }.AddBaggage("user", "42").Start();

        var traced = await connection.AddOutboxEventAsync(Payment("p-1"));
        var extra = await connection.AddOutboxEventAsync(new OutboxEventEntry(Payment("p-2"))
        {
            Headers = new Dictionary<string, string> { ["correlation_id"] = "c-7", ["tracestate"] = "mine=1" },
        });
        var untraced = await connection.AddOutboxEventAsync(Payment("p-3"), options: new OutboxWriteOptions { WriteTraceContext = false });
        activity.Stop();
        parent.Stop();

        var headers = (await db.RowsAsync()).ToDictionary(r => r.Id, r => r.Headers);
        using (var json = JsonDocument.Parse(headers[traced.EventId]!))
        {
            Assert.Equal(activity.Id, json.RootElement.GetProperty("traceparent").GetString());
            Assert.StartsWith($"00-{parent.TraceId}-", activity.Id, StringComparison.Ordinal);
            Assert.Equal("vendor=abc", json.RootElement.GetProperty("tracestate").GetString());
            Assert.Equal("user=42,tenant=acme%20co", json.RootElement.GetProperty("baggage").GetString());
        }
        using (var json = JsonDocument.Parse(headers[extra.EventId]!))
        {
            Assert.Equal(activity.Id, json.RootElement.GetProperty("traceparent").GetString());
            Assert.Equal("mine=1", json.RootElement.GetProperty("tracestate").GetString());
            Assert.Equal("c-7", json.RootElement.GetProperty("correlation_id").GetString());
        }
        Assert.Null(headers[untraced.EventId]);
    }

    [Fact]
    public async Task Custom_table_and_source_generated_serializer_context_are_used()
    {
        await using var db = await environment.CreateDatabaseAsync("options");
        await using (var superuser = await db.OpenSuperuserAsync())
            // A second outbox as sql/007_add_outbox.sql makes one (twice: it is idempotent), grants included.
            await OutboxDatabase.ExecuteAsync(superuser, """
                CALL public.atlas_cdc_add_outbox('sales', 'outbox');
                CALL public.atlas_cdc_add_outbox('sales', 'outbox');
                """);
        var options = new OutboxWriteOptions { Table = "sales.outbox", SerializerOptions = ShipmentJsonContext.Default.Options };
        await using var connection = await db.OpenWriterAsync();

        var result = await connection.AddOutboxEventAsync(new ShipmentShipped("s-1", "DHL"), options: options);
        var notInContext = await Assert.ThrowsAsync<OutboxEventValidationException>(
            () => connection.AddOutboxEventAsync(Payment("p-1"), options: options));

        Assert.True(result.Inserted);
        Assert.Equal("""{"carrier": "DHL", "shipment_id": "s-1"}""", await db.ScalarAsync<string>("SELECT payload::text FROM sales.outbox"));
        Assert.Equal(0, await db.OutboxCountAsync());
        Assert.Equal(typeof(PaymentRequested), notInContext.EventClrType);
        Assert.Equal("payload", notInContext.MemberName);
    }

    /// <summary>Waits until <paramref name="count"/> sessions of the database wait on a lock (the same key, uncommitted).</summary>
    private static async Task WaitForLockWaitersAsync(OutboxDatabase db, int count)
    {
        var deadline = Stopwatch.StartNew();
        long waiting;
        while ((waiting = await db.ScalarAsync<long>(
                   $"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db.Name}' AND wait_event_type = 'Lock'")) < count)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new Xunit.Sdk.XunitException($"{waiting} of {count} writers waited on the key within 30 s");
            await Task.Delay(20);
        }
    }

    internal static PaymentRequested Payment(string id, string? commandId = null) => new() { PaymentId = id, CommandId = commandId, Cents = 100 };

    /// <summary>Runs <paramref name="action"/> under a fresh trace and counts the commands Npgsql executed in it.</summary>
    private static async Task<(T Result, int Commands)> CountNpgsqlCommandsAsync<T>(Func<Task<T>> action)
    {
        using var root = new Activity("count-commands").Start();
        var traceId = root.TraceId;
        var commands = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = a =>
            {
                if (a.TraceId == traceId)
                    Interlocked.Increment(ref commands);
            },
        };
        ActivitySource.AddActivityListener(listener);
        var result = await action();
        return (result, commands);
    }
}

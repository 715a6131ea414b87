using Atlas.Cdc.Outbox.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>
/// The EF Core path: a real DbContext (Npgsql provider) as the writer login role; events added to the context are
/// written by SaveChanges in the transaction that saves its entities.
/// </summary>
[Collection(OutboxCollection.Name)]
public class EntityFrameworkCoreTests(OutboxEnvironment environment)
{
    [Fact]
    public async Task SaveChangesAsync_writes_the_entity_and_its_event_in_one_transaction()
    {
        await using var db = await environment.CreateDatabaseAsync("efasync");
        await using var context = Context(db);
        var order = NewOrder();

        context.Orders.Add(order);
        var pending = context.AddOutboxEvent(EventFor(order));
        Assert.Null(pending.Result);
        Assert.Equal(1, await context.SaveChangesAsync());

        Assert.True(pending.Result?.Inserted);
        Assert.Empty(context.PendingOutboxEvents());
        var row = Assert.Single(await db.RowsAsync());
        Assert.Equal((pending.EventId, order.Id.ToString()), (row.Id, row.AggregateId));
        await AssertSameTransactionAsync(db, order.Id, pending.EventId);
    }

    [Fact]
    public async Task SaveChanges_writes_the_entity_and_its_event_in_one_transaction()
    {
        await using var db = await environment.CreateDatabaseAsync("efsync");
        using var context = Context(db);
        var order = NewOrder();

        context.Orders.Add(order);
        var pending = context.AddOutboxEvent(new OutboxEventEntry(EventFor(order)) { IdempotencyKey = "place-" + order.Id });
        Assert.Equal(1, context.SaveChanges());

        Assert.True(pending.Result?.Inserted);
        var row = Assert.Single(await db.RowsAsync());
        Assert.Equal("place-" + order.Id, row.IdempotencyKey);
        await AssertSameTransactionAsync(db, order.Id, pending.EventId);
    }

    [Fact]
    public async Task Failed_SaveChanges_writes_no_event_and_keeps_it_for_the_next_SaveChanges()
    {
        await using var db = await environment.CreateDatabaseAsync("effailed");
        var taken = Guid.NewGuid();
        await db.ScalarAsync<int>($"INSERT INTO orders VALUES ('{taken}', 'someone', 1) RETURNING 1");
        await using var context = Context(db);

        context.Orders.Add(new ShopOrder { Id = taken, Customer = "ada", Total = 10 });
        var pending = context.AddOutboxEvent(EventFor(NewOrder()));
        await Assert.ThrowsAsync<DbUpdateException>(() => context.SaveChangesAsync());

        Assert.Equal(0, await db.OutboxCountAsync());
        Assert.Null(pending.Result);
        Assert.Same(pending, Assert.Single(context.PendingOutboxEvents()));

        context.ChangeTracker.Clear();
        context.Orders.Add(NewOrder());
        await context.SaveChangesAsync();
        Assert.True(pending.Result?.Inserted);
        Assert.Equal(pending.EventId, Assert.Single(await db.RowsAsync()).Id);
    }

    [Fact]
    public async Task In_the_callers_transaction_the_event_commits_or_rolls_back_with_it()
    {
        await using var db = await environment.CreateDatabaseAsync("eftx");
        await using var context = Context(db);

        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            context.Orders.Add(NewOrder());
            context.AddOutboxEvent(EventFor(NewOrder()));
            await context.SaveChangesAsync();
            await transaction.RollbackAsync();
        }
        Assert.Equal(0, await db.OutboxCountAsync());
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM orders"));

        context.ChangeTracker.Clear();
        var order = NewOrder();
        OutboxPendingEvent pending;
        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            context.Orders.Add(order);
            pending = context.AddOutboxEvent(EventFor(order));
            await context.SaveChangesAsync();
            Assert.Equal(0, await db.OutboxCountAsync());
            await transaction.CommitAsync();
        }
        Assert.Equal(pending.EventId, Assert.Single(await db.RowsAsync()).Id);
        await AssertSameTransactionAsync(db, order.Id, pending.EventId);
    }

    [Fact]
    public async Task Events_belong_to_the_context_instance_they_were_added_to_and_not_to_the_next_pooled_lease()
    {
        await using var db = await environment.CreateDatabaseAsync("efinstance");
        var options = Options(db);
        await using (var first = new ShopContext(options))
        await using (var second = new ShopContext(options))
        {
            var pending = first.AddOutboxEvent(EventFor(NewOrder()));
            second.Orders.Add(NewOrder());
            await second.SaveChangesAsync();
            Assert.Equal(0, await db.OutboxCountAsync());

            // Only events, no entity changes: SaveChanges still writes them.
            Assert.Equal(0, await first.SaveChangesAsync());
            Assert.True(pending.Result?.Inserted);
            Assert.Equal(1, await db.OutboxCountAsync());
        }

        var pool = new PooledDbContextFactory<ShopContext>(options, poolSize: 1);
        await using (var leased = await pool.CreateDbContextAsync())
            leased.AddOutboxEvent(EventFor(NewOrder()));
        await using (var again = await pool.CreateDbContextAsync())
        {
            Assert.Empty(again.PendingOutboxEvents());
            await again.SaveChangesAsync();
        }
        Assert.Equal(1, await db.OutboxCountAsync());
    }

    [Fact]
    public async Task UseAtlasOutbox_twice_still_writes_each_event_once_and_without_it_AddOutboxEvent_says_what_to_call()
    {
        await using var db = await environment.CreateDatabaseAsync("efconfig");
        var twice = new DbContextOptionsBuilder<ShopContext>().UseNpgsql(db.WriterConnectionString).UseAtlasOutbox().UseAtlasOutbox().Options;
        await using (var context = new ShopContext(twice))
        {
            context.AddOutboxEvent(EventFor(NewOrder()));
            await context.SaveChangesAsync();
        }
        Assert.Equal(1, await db.OutboxCountAsync());

        await using var plain = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(db.WriterConnectionString).Options);
        var error = Assert.Throws<InvalidOperationException>(() => plain.AddOutboxEvent(EventFor(NewOrder())));
        Assert.Contains("UseAtlasOutbox()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_event_is_refused_by_AddOutboxEvent_and_SaveChanges_writes_only_the_entities()
    {
        await using var db = await environment.CreateDatabaseAsync("efbad");
        await using var context = Context(db);
        context.Orders.Add(NewOrder());

        var error = Assert.Throws<OutboxEventValidationException>(() => context.AddOutboxEvent(EventFor(NewOrder()) with { Total = -5 }));
        await context.SaveChangesAsync();

        Assert.Equal("Total", error.MemberName);
        Assert.Equal(0, await db.OutboxCountAsync());
        Assert.Equal(1, await db.ScalarAsync<long>("SELECT count(*) FROM orders"));
    }

    private static DbContextOptions<ShopContext> Options(OutboxDatabase db) =>
        new DbContextOptionsBuilder<ShopContext>().UseNpgsql(db.WriterConnectionString).UseAtlasOutbox().Options;

    private static ShopContext Context(OutboxDatabase db) => new(Options(db));

    private static ShopOrder NewOrder() => new() { Id = Guid.NewGuid(), Customer = "ada", Total = 10 };

    private static OrderPlaced EventFor(ShopOrder order) => new() { OrderId = order.Id, Customer = order.Customer, Total = order.Total };

    /// <summary>
    /// Both rows were inserted by one transaction: both defaults took now(), the transaction's start time (xmin would
    /// not do: EF saves under a savepoint, whose rows carry a subtransaction id).
    /// </summary>
    private static async Task AssertSameTransactionAsync(OutboxDatabase db, Guid orderId, Guid eventId)
    {
        var orderStarted = await db.ScalarAsync<DateTime>($"SELECT created_at FROM orders WHERE id = '{orderId}'");
        var eventStarted = await db.ScalarAsync<DateTime>($"SELECT created_at FROM outbox WHERE id = '{eventId}'");
        Assert.Equal(orderStarted, eventStarted);
        var otherTransactions = await db.ScalarAsync<long>($"SELECT count(*) FROM outbox WHERE created_at = '{orderStarted:O}'::timestamptz AND id <> '{eventId}'");
        Assert.Equal(0, otherTransactions);
    }
}

using Npgsql;

namespace Atlas.Cdc.Outbox.Tests;

/// <summary>A bad event fails before any SQL: the exception names the event type and the member, and the table stays empty.</summary>
[Collection(OutboxCollection.Name)]
public class ValidationTests(OutboxEnvironment environment)
{
    public static TheoryData<string, object, Type, string?, string> BadEvents => new()
    {
        { "data annotation", Order(total: 0), typeof(OrderPlaced), "Total", "must be between 0.01 and 1000000" },
        { "data annotation length", Order(customer: new string('c', 51)), typeof(OrderPlaced), "Customer", "maximum length of 50" },
        { "required member null", new CustomerRenamed(7, null!), typeof(CustomerRenamed), "Name", "is required" },
        { "null aggregate id", new PaymentRequested { PaymentId = null! }, typeof(PaymentRequested), "PaymentId", "is required" },
        { "blank aggregate id", new PaymentRequested { PaymentId = "  " }, typeof(PaymentRequested), "PaymentId", "aggregate id is null or blank" },
        { "over-long aggregate id", new PaymentRequested { PaymentId = new string('p', 257) }, typeof(PaymentRequested), "PaymentId", "at most 256" },
        { "over-long idempotency key", new PaymentRequested { PaymentId = "p", CommandId = new string('k', 257) }, typeof(PaymentRequested), "CommandId", "at most 256" },
        { "blank idempotency key", new PaymentRequested { PaymentId = "p", CommandId = "" }, typeof(PaymentRequested), "CommandId", "blank" },
        { "aggregate type not a topic name", new BadAggregateType("x"), typeof(BadAggregateType), null, "contains ' '" },
        { "no aggregate id property", new NoAggregateId("x"), typeof(NoAggregateId), null, "[AggregateId]" },
        { "no outbox attribute", new NoAttribute("x"), typeof(NoAttribute), null, "[OutboxEvent(aggregateType, eventType)]" },
        { "payload fails to serialize", Cycle(), typeof(Cyclic), "$.Parent.Parent.Parent*", "could not be serialized" },
        { "payload jsonb cannot store", Order(note: "a\0b"), typeof(OrderPlaced), "payload", "U+0000" },
        { "reserved header", new OutboxEventEntry(Order()) { Headers = new Dictionary<string, string> { ["atlas.commit_lsn"] = "0/1" } },
            typeof(OrderPlaced), "headers['atlas.commit_lsn']", "the relay writes this header itself" },
    };

    [Theory]
    [MemberData(nameof(BadEvents))]
    public async Task Bad_event_throws_naming_type_and_member_and_writes_nothing(string why, object outboxEvent, Type type, string? member, string reason)
    {
        await using var db = await environment.CreateDatabaseAsync("bad");
        await using var connection = await db.OpenWriterAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        var error = await Assert.ThrowsAsync<OutboxEventValidationException>(() => connection.AddOutboxEventAsync(outboxEvent, transaction));

        Assert.Equal(type, error.EventClrType);
        if (member?.EndsWith('*') == true)
            Assert.StartsWith(member.TrimEnd('*'), error.MemberName, StringComparison.Ordinal); // a JSON path, cut here
        else
            Assert.Equal(member, error.MemberName);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
        Assert.Contains(type.FullName!, error.Message, StringComparison.Ordinal);
        // Nothing was sent: the caller's transaction is still usable, and commits nothing.
        await using (var business = new NpgsqlCommand($"INSERT INTO orders VALUES ('{Guid.NewGuid()}', '{why}', 1)", connection, transaction))
            await business.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        Assert.Equal(0, await db.OutboxCountAsync());
        Assert.Equal(1, await db.ScalarAsync<long>("SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task One_bad_event_in_a_batch_writes_none_of_the_batch()
    {
        await using var db = await environment.CreateDatabaseAsync("badbatch");
        await using var connection = await db.OpenWriterAsync();
        var events = Enumerable.Range(0, 10).Select(i => (object)Order()).Append(Order(total: -1)).ToList();

        var error = await Assert.ThrowsAsync<OutboxEventValidationException>(() => connection.AddOutboxEventsAsync(events));

        Assert.Equal("Total", error.MemberName);
        Assert.Equal(0, await db.OutboxCountAsync());
    }

    private static OrderPlaced Order(decimal total = 10, string customer = "ada", string? note = null) =>
        new() { OrderId = Guid.NewGuid(), Customer = customer, Total = total, Note = note };

    private static Cyclic Cycle()
    {
        var tree = new Cyclic();
        tree.Parent = tree;
        return tree;
    }
}

using System.Diagnostics;
using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

[Collection(CdcCollection.Name)]
public class MixedWorkloadTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private static readonly string[] s_aggregateTypes = ["Order", "Payment", "Shipment", "Invoice", "Customer"];

    [Fact]
    public async Task Twenty_thousand_events_in_transactions_of_1_to_1000_rows_with_rollbacks_arrive_in_commit_order_per_aggregate()
    {
        await using var scenario = await environment.CreateScenarioAsync("mixed");
        foreach (var type in s_aggregateTypes)
            environment.Kafka.CreateTopic(scenario.Topic(type), partitions: 6, replicationFactor: 3);
        await using var relay = await scenario.StartReadyRelayAsync();

        var random = new Random(42);
        var committedByKey = new Dictionary<string, List<Guid>>();
        var payloadById = new Dictionary<Guid, (string Key, string Payload)>();
        var discarded = new List<Guid>();
        int transactions = 0, rolledBack = 0, savepointsRolledBack = 0;

        await using var connection = await scenario.OpenAsync();
        while (payloadById.Count < 20_000)
        {
            var size = random.Next(0, 4) == 0 ? random.Next(100, 1001) : random.Next(1, 30);
            await using var transaction = await connection.BeginTransactionAsync();
            var kept = new List<(Guid Id, string Key, string Payload)>();
            var rollbackAt = random.Next(0, 8) == 0 ? random.Next(0, size) : -1;
            for (var i = 0; i < size; i++)
            {
                if (i == rollbackAt)
                    await transaction.SaveAsync("maybe");
                var key = $"agg-{random.Next(0, 200)}";
                var id = Guid.NewGuid();
                var payload = $$"""{"id": "{{id}}", "n": {{i}}}""";
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload) VALUES ($1, $2, $3, 'Changed', $4::jsonb)",
                    connection, transaction);
                insert.Parameters.Add(new NpgsqlParameter { Value = id });
                insert.Parameters.Add(new NpgsqlParameter { Value = TypeOf(key) });
                insert.Parameters.Add(new NpgsqlParameter { Value = key });
                insert.Parameters.Add(new NpgsqlParameter { Value = payload, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                await insert.ExecuteNonQueryAsync();
                kept.Add((id, key, payload));
            }
            if (rollbackAt >= 0)
            {
                await transaction.RollbackAsync("maybe");
                discarded.AddRange(kept.Skip(rollbackAt).Select(k => k.Id));
                kept.RemoveRange(rollbackAt, kept.Count - rollbackAt);
                savepointsRolledBack++;
            }
            if (random.Next(0, 10) == 0)
            {
                await transaction.RollbackAsync();
                discarded.AddRange(kept.Select(k => k.Id));
                rolledBack++;
                continue;
            }
            await transaction.CommitAsync();
            transactions++;
            foreach (var (id, key, payload) in kept)
            {
                if (!committedByKey.TryGetValue(key, out var ids))
                    committedByKey[key] = ids = [];
                ids.Add(id);
                payloadById[id] = (key, payload);
            }
        }
        var lastCommit = await scenario.CurrentWalLsnAsync();
        output.WriteLine($"{payloadById.Count} events committed in {transactions} transactions; {rolledBack} rolled back, {savepointsRolledBack} savepoints rolled back ({discarded.Count} events discarded)");

        var clock = Stopwatch.StartNew();
        var records = await scenario.WaitForEventsAsync(s_aggregateTypes.Select(scenario.Topic), payloadById.Keys, TimeSpan.FromSeconds(120));
        output.WriteLine($"all delivered {clock.ElapsedMilliseconds} ms after the last commit; {OrderAssertions.Duplicates(records)} duplicates");

        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, committedByKey);
        var discardedIds = discarded.Select(id => id.ToString()).ToHashSet();
        Assert.DoesNotContain(records, r => discardedIds.Contains(r.Header("id")!));
        foreach (var record in records)
        {
            var (key, _) = payloadById[Guid.Parse(record.Header("id")!)];
            Assert.Equal(key, record.Key);
            Assert.Equal(scenario.Topic(TypeOf(key)), record.Topic);
            Assert.Contains(record.Header("id")!, record.Payload);
        }

        var confirmedWithin = Stopwatch.StartNew();
        while (await scenario.ConfirmedLsnAsync() < lastCommit && confirmedWithin.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(100);
        output.WriteLine($"confirmed LSN passed the last commit {confirmedWithin.ElapsedMilliseconds} ms after the last delivery was read");
        Assert.True(await scenario.ConfirmedLsnAsync() >= lastCommit, "the confirmed LSN did not pass the last commit");
    }

    private static string TypeOf(string key) =>
        s_aggregateTypes[int.Parse(key.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture) % s_aggregateTypes.Length];
}

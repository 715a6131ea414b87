using System.Globalization;
using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Decode and publish run on separate threads (PublishQueue): the hand-over must keep every guarantee.</summary>
[Collection(CdcCollection.Name)]
public class PublishQueueTests(CdcEnvironment environment)
{
    [Fact]
    public async Task New_topics_whose_metadata_cannot_be_fetched_do_not_stall_the_publishing_loop()
    {
        const int topics = 8;
        await using var scenario = await environment.CreateScenarioAsync("newtopics");
        await using var relay = await scenario.StartReadyRelayAsync();
        var rows = Enumerable.Range(1, topics).Select(i => new OutboxRow($"New{i}", "key", "Created", "{}")).ToArray();
        List<Guid> ids;
        TimeSpan handedOver;
        // With every broker down, a metadata request for a new topic can only time out (after 1 s each).
        environment.Kafka.SetAllBrokersDown();
        try
        {
            ids = await scenario.InsertAsync(rows);
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            while ((await RelayProbe.MetricAsync(relay, "atlas_cdc_events_in_flight") ?? 0) < topics)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), "the relay did not read the events within 10 s");
                await Task.Delay(20);
            }
            stopwatch.Restart();
            // Read: now handed to librdkafka by the publishing loop, one new topic after another.
            while ((await RelayProbe.MetricAsync(relay, "atlas_cdc_producer_queue_messages") ?? 0) < topics)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), "the publishing loop did not hand the events over within 30 s");
                await Task.Delay(20);
            }
            handedOver = stopwatch.Elapsed;
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        Assert.True(handedOver < TimeSpan.FromSeconds(3),
            $"the publishing loop took {handedOver.TotalSeconds:F1} s to hand {topics} events for {topics} new topics to the producer");
        await scenario.WaitForEventsAsync(rows.Select(r => scenario.Topic(r.AggregateType)), ids);
    }

    [Fact]
    public async Task Sigterm_in_the_middle_of_a_backlog_drains_the_queue_and_a_restart_delivers_the_rest_in_commit_order()
    {
        await using var scenario = await environment.CreateScenarioAsync("queuedrain");
        // The first relay only creates the slot, so the backlog below waits in it.
        var creator = await scenario.StartReadyRelayAsync();
        Assert.Equal(0, await creator.TerminateAsync(TimeSpan.FromSeconds(30)));
        // Large enough that even a fast machine is still publishing it when SIGTERM comes.
        await CommitOneByOneAsync(scenario, 20_000, keys: 7);
        var committed = await CommittedByKeyAsync(scenario);

        // Slow publishing (small in-flight limit, long linger) so the SIGTERM lands while events are queued.
        var slow = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__MaxInFlightEvents"] = "50",
            ["Cdc__Kafka__Properties__linger.ms"] = "100",
        });
        await WaitForPublishedAsync(slow, atLeast: 200);
        Assert.Equal(0, await slow.TerminateAsync(TimeSpan.FromSeconds(30)));
        var publishedBeforeRestart = (await scenario.ReadTopicAsync(scenario.Topic("Queue"))).Count;
        Assert.InRange(publishedBeforeRestart, 200, 19_999);

        await using var restarted = await scenario.StartReadyRelayAsync();
        var records = await scenario.WaitForEventsAsync([scenario.Topic("Queue")], [.. committed.Values.SelectMany(ids => ids)]);
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, committed);
        // At most the one transaction the reader was inside when SIGTERM came is sent again: the reader usually
        // waits for capacity right after an insert, stops at that transaction's COMMIT, so it is never confirmed.
        var duplicates = OrderAssertions.Duplicates(records);
        Assert.True(duplicates <= 1, $"{duplicates} duplicates; {publishedBeforeRestart} published before the restart. Draining relay's output:\n{slow.Output}");
    }

    /// <summary>One transaction per row, in the database, without a round trip each (a procedure may COMMIT).</summary>
    private static async Task CommitOneByOneAsync(RelayScenario scenario, int rows, int keys)
    {
        await using var connection = await scenario.OpenAsync();
        await using (var create = new NpgsqlCommand("""
            CREATE PROCEDURE pg_temp.commit_one_by_one(n int, keys int) LANGUAGE plpgsql AS $$
            BEGIN
                FOR i IN 1..n LOOP
                    INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
                    VALUES ('Queue', 'queue-' || (i % keys), 'Queued', jsonb_build_object('n', i));
                    COMMIT;
                END LOOP;
            END $$
            """, connection))
            await create.ExecuteNonQueryAsync();
        // Durability of the test's own commits is not what is tested; this keeps 20,000 commits quick.
        await using var call = new NpgsqlCommand(
            string.Create(CultureInfo.InvariantCulture, $"SET synchronous_commit = off; CALL pg_temp.commit_one_by_one({rows}, {keys})"), connection);
        await call.ExecuteNonQueryAsync();
    }

    /// <summary>Ids per key in commit order (each row is its own transaction, committed in n order).</summary>
    private static async Task<Dictionary<string, List<Guid>>> CommittedByKeyAsync(RelayScenario scenario)
    {
        await using var connection = await scenario.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT aggregate_id, id FROM public.outbox ORDER BY (payload->>'n')::int", connection);
        var byKey = new Dictionary<string, List<Guid>>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var key = reader.GetString(0);
            if (!byKey.TryGetValue(key, out var ids))
                byKey[key] = ids = [];
            ids.Add(reader.GetGuid(1));
        }
        return byKey;
    }

    private static async Task WaitForPublishedAsync(Sandbox.RelayProcess relay, long atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var metrics = await relay.GetTextAsync("/metrics");
            var published = metrics.Split('\n')
                .Where(l => l.StartsWith("atlas_cdc_events_published_total{", StringComparison.Ordinal))
                .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
            if (published >= atLeast)
                return;
            await Task.Delay(20);
        }
        Assert.Fail($"the relay did not publish {atLeast} events within 30 s");
    }
}

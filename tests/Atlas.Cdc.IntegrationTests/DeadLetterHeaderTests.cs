using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Dead letters are built on librdkafka's delivery thread while the publishing loop builds the next events: each
/// message, dead letter or not, must carry its own transaction's commit LSN and commit time.
/// </summary>
[Collection(CdcCollection.Name)]
public class DeadLetterHeaderTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Dead_letters_and_events_interleaved_over_many_transactions_each_carry_their_own_rows_commit_lsn_and_time()
    {
        const int refusals = 20;
        await using var scenario = await environment.CreateScenarioAsync("dlqheaders");
        var topic = scenario.Topic("Mixed");
        environment.Kafka.CreateTopic(topic, partitions: 1);
        await using var relay = await scenario.StartReadyRelayAsync();
        await scenario.WaitForEventsAsync([topic], await scenario.InsertAsync(RelayCoreTests.Rows("Mixed", 1)));

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => WriteTransactionsAsync(scenario, stop.Token));
        var deadLettered = 0;
        try
        {
            // One refused Produce request at a time: its events are dead-lettered from the delivery report while
            // the writer's next transactions are being published. Waiting for each refusal's dead letters before
            // the next keeps the refusal off the dead-letter topic's own requests.
            for (var refusal = 0; refusal < refusals; refusal++)
            {
                environment.Kafka.PushRequestErrors(0, 10);
                var stopwatch = Stopwatch.StartNew();
                int count;
                while ((count = (await scenario.ReadTopicAsync(scenario.DeadLetterTopic)).Count) == deadLettered)
                {
                    Assert.False(relay.HasExited, relay.Output);
                    Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"refusal {refusal}: no dead letter within 30 s");
                    await Task.Delay(100);
                }
                deadLettered = count;
            }
        }
        finally
        {
            await stop.CancelAsync();
        }
        var transactions = await writer;

        var rows = transactions.SelectMany(t => t.Ids.Select(id => (Id: id.ToString(), Transaction: t))).ToDictionary(p => p.Id, p => p.Transaction);
        var records = await WaitForAllAsync(scenario, [topic, scenario.DeadLetterTopic], rows.Keys.ToHashSet());
        var dead = records.Count(r => r.Topic == scenario.DeadLetterTopic);
        var checkedRecords = 0;
        foreach (var record in records.Where(r => rows.ContainsKey(r.Header("id") ?? "")))
        {
            var transaction = rows[record.Header("id")!];
            var lsn = NpgsqlLogSequenceNumber.Parse(record.Header("atlas.commit_lsn")!);
            var time = DateTimeOffset.Parse(record.Header("atlas.commit_time")!, CultureInfo.InvariantCulture);
            Assert.True(lsn > transaction.LsnBefore && lsn <= transaction.LsnAfter,
                $"{record.Topic} record {record.Header("id")}: commit LSN {lsn} is outside its transaction's ({transaction.LsnBefore}, {transaction.LsnAfter}]");
            Assert.True(time >= transaction.TimeBefore && time <= transaction.TimeAfter,
                $"{record.Topic} record {record.Header("id")}: commit time {time:O} is outside its transaction's [{transaction.TimeBefore:O}, {transaction.TimeAfter:O}]");
            checkedRecords++;
        }
        // Events of one transaction share both values, dead-lettered or not.
        foreach (var transaction in transactions)
        {
            var ids = transaction.Ids.Select(id => id.ToString()).ToHashSet();
            var values = records.Where(r => ids.Contains(r.Header("id")!)).Select(r => (r.Header("atlas.commit_lsn"), r.Header("atlas.commit_time"))).Distinct().ToList();
            Assert.True(values.Count == 1, $"the transaction of {string.Join(", ", ids)} was delivered with {values.Count} different commit headers");
        }
        output.WriteLine($"{transactions.Count} transactions, {rows.Count} events; {dead} dead-lettered from {refusals} refused requests; {checkedRecords} records checked");
        Assert.True(dead >= refusals, $"only {dead} dead letters");
    }

    /// <summary>
    /// Single writer, one transaction after another (1 to 3 rows), each bracketed by the WAL insert position and
    /// the clock: its commit record lies in (LsnBefore, LsnAfter], its commit time in [TimeBefore, TimeAfter].
    /// </summary>
    private static async Task<List<WrittenTransaction>> WriteTransactionsAsync(RelayScenario scenario, CancellationToken cancellationToken)
    {
        var written = new List<WrittenTransaction>();
        await using var connection = await scenario.OpenAsync();
        for (var n = 0; !cancellationToken.IsCancellationRequested; n++)
        {
            var (lsnBefore, timeBefore) = await PositionAsync(connection);
            await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
            var rows = Enumerable.Range(0, 1 + n % 3).Select(i => new OutboxRow("Mixed", $"mixed-{n % 5}", "Happened", $$"""{"n": {{n}}, "i": {{i}}}""")).ToArray();
            var ids = await RelayScenario.InsertAsync(connection, rows);
            await transaction.CommitAsync(CancellationToken.None);
            var (lsnAfter, timeAfter) = await PositionAsync(connection);
            written.Add(new WrittenTransaction(ids, lsnBefore, lsnAfter, timeBefore, timeAfter));
        }
        return written;
    }

    private static async Task<(NpgsqlLogSequenceNumber, DateTimeOffset)> PositionAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT pg_current_wal_insert_lsn(), clock_timestamp()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetFieldValue<NpgsqlLogSequenceNumber>(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    private static async Task<List<Sandbox.KafkaRecord>> WaitForAllAsync(RelayScenario scenario, string[] topics, HashSet<string> ids)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var records = new List<Sandbox.KafkaRecord>();
            foreach (var topic in topics)
                records.AddRange(await scenario.ReadTopicAsync(topic));
            var missing = ids.Except(records.Select(r => r.Header("id") ?? "")).Count();
            if (missing == 0)
                return records;
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"{missing} of {ids.Count} events are in neither topic after 60 s");
            await Task.Delay(250);
        }
    }

    private sealed record WrittenTransaction(List<Guid> Ids, NpgsqlLogSequenceNumber LsnBefore, NpgsqlLogSequenceNumber LsnAfter,
        DateTimeOffset TimeBefore, DateTimeOffset TimeAfter);
}

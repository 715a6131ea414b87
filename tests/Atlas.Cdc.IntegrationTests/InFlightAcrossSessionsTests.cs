using System.Net;
using Npgsql;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Sessions that end with messages still in the Kafka producer, round after round: the brokers are down, so nothing
/// is acknowledged, and PostgreSQL restarts each round, so the session ends and the next one reads the same rows
/// again. The producer's messages must neither be dropped (they go out once the brokers are back) nor be joined by
/// the next session's copies of the same rows (memory would grow by a session's worth each round).
/// </summary>
[Collection(CdcCollection.Name)]
public class InFlightAcrossSessionsTests(CdcEnvironment environment, ITestOutputHelper output)
{
    private const int Rounds = 4;
    private const int RowsPerRound = 2000;
    private const int MaxInFlight = 2000;

    [Fact]
    public async Task Sessions_ending_with_messages_in_the_producer_round_after_round_lose_nothing_and_do_not_pile_up_copies()
    {
        await using var scenario = await environment.CreateScenarioAsync("inflight");
        var topic = scenario.Topic("Flight");
        environment.Kafka.CreateTopic(topic, partitions: 16);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__ShutdownTimeout"] = "00:00:02",
            ["Cdc__MaxInFlightEvents"] = MaxInFlight.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

        var residentMiB = new List<double>();
        double highestProducerQueue = 0;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            for (var round = 1; round <= Rounds; round++)
            {
                await InsertRoundAsync(scenario, round);
                await Poll.UntilAsync($"round {round}: events read and waiting for Kafka",
                    async () => await RelayProbe.MetricAsync(relay, "atlas_cdc_events_in_flight") > 0, TimeSpan.FromSeconds(60),
                    async () => $"in flight {await RelayProbe.MetricAsync(relay, "atlas_cdc_events_in_flight")}; {RelayProbe.Tail(relay.Output, 10)}");
                highestProducerQueue = Math.Max(highestProducerQueue, await RelayProbe.MetricAsync(relay, "atlas_cdc_producer_queue_messages") ?? 0);

                await environment.Postgres.StopAsync();
                await environment.Postgres.StartAgainAsync();
                await Poll.UntilAsync($"round {round}: the relay streams again from the restarted server", scenario.SlotActiveAsync,
                    TimeSpan.FromSeconds(120), () => Task.FromResult(relay.HasExited ? $"the relay exited:\n{relay.Output}" : RelayProbe.Tail(relay.Output, 10)));
                residentMiB.Add(ResidentMiB(relay.ProcessId));
            }
            Assert.Contains("messages of the ended session are still in the Kafka producer", relay.Output, StringComparison.Ordinal);
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        var expected = await WriterLoad.CommittedByKeyAsync(scenario, "Flight");
        var records = await scenario.WaitForEventsAsync([topic], expected.Values.SelectMany(ids => ids).ToList(), TimeSpan.FromSeconds(180));
        OrderAssertions.FirstDeliveriesFollowCommitOrder(records, expected);
        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(120));
        await Poll.UntilAsync("the producer holds nothing once Kafka answered",
            async () => await RelayProbe.MetricAsync(relay, "atlas_cdc_producer_queue_messages") == 0, TimeSpan.FromSeconds(60),
            async () => $"producer queue {await RelayProbe.MetricAsync(relay, "atlas_cdc_producer_queue_messages")}");

        output.WriteLine($"{Rounds} rounds of {RowsPerRound} rows; resident MiB after each round: {string.Join(", ", residentMiB.Select(m => m.ToString("F0")))}; " +
                         $"highest producer queue {highestProducerQueue}; {records.Count} records, {OrderAssertions.Duplicates(records)} duplicates");
        // One session's messages wait in the producer; the next sessions' copies wait in their own bounded queues.
        Assert.True(highestProducerQueue <= MaxInFlight,
            $"the producer held {highestProducerQueue} messages, more than one session's limit of {MaxInFlight}: copies piled up behind earlier ones");
        Assert.True(residentMiB[^1] - residentMiB[0] < 64,
            $"resident memory grew from {residentMiB[0]:F0} to {residentMiB[^1]:F0} MiB over {Rounds - 1} more rounds ({string.Join(", ", residentMiB.Select(m => m.ToString("F0")))})");
    }

    private static async Task InsertRoundAsync(RelayScenario scenario, int round)
    {
        await using var connection = await scenario.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
            SELECT 'Flight', 'key-' || (g % 20), 'Written', jsonb_build_object('seq', $1 * 100000 + g, 'pad', repeat('x', 1500))
            FROM generate_series(1, $2) AS g
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = round });
        command.Parameters.Add(new NpgsqlParameter { Value = RowsPerRound });
        await command.ExecuteNonQueryAsync();
    }

    private static double ResidentMiB(int processId)
    {
        var line = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }
}

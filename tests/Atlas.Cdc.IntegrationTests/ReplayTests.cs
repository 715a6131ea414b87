using System.Globalization;
using System.Net;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// <c>dotnet Atlas.Cdc.dll replay ...</c> as an operator runs it: each filter, a dry run, the dead-letter redrive,
/// usage errors (exit 2, one line) and --help/--version (exit 0); a running relay is not disturbed.
/// </summary>
[Collection(CdcCollection.Name)]
public class ReplayTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task Replay_by_each_filter_publishes_the_matching_rows_again_marked_replayed_and_leaves_the_relay_alone()
    {
        await using var scenario = await environment.CreateScenarioAsync("replay");
        await using var relay = await scenario.StartReadyRelayAsync();
        var orders = await scenario.InsertAsync(RelayCoreTests.Rows("Order", 10));
        var invoices = await scenario.InsertAsync(RelayCoreTests.Rows("Invoice", 10));
        await scenario.WaitForEventsAsync([scenario.Topic("Order"), scenario.Topic("Invoice")], [.. orders, .. invoices]);
        await scenario.ScalarAsync<int>($"WITH moved AS (UPDATE outbox SET created_at = '2026-01-01T12:00:00Z' WHERE id IN ('{orders[7]}', '{orders[8]}', '{orders[9]}') RETURNING 1) SELECT count(*)::int FROM moved");
        var slotHolder = await scenario.ScalarAsync<int>($"SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{scenario.Slot}'");
        var settings = scenario.RelaySettings();

        async Task<List<Sandbox.KafkaRecord>> ReplayedAsync(string aggregateType) =>
            [.. (await scenario.ReadTopicAsync(scenario.Topic(aggregateType))).Where(r => r.Header("atlas.replayed") == "true")];
        async Task<CommandResult> ReplayAsync(params string[] arguments)
        {
            var result = await RelayCommand.RunAsync(["replay", .. arguments], settings);
            Assert.True(result.ExitCode == 0, result.ToString());
            output.WriteLine($"replay {string.Join(' ', arguments)}: {result.StandardOutput.Trim()}");
            return result;
        }

        var dryRun = await ReplayAsync("--aggregate-type", "Invoice", "--dry-run");
        Assert.Equal("10 events would be published again from public.outbox (dry run: nothing was published)", dryRun.StandardOutput.Trim());
        Assert.Empty(await ReplayedAsync("Invoice"));

        var byType = await ReplayAsync("--aggregate-type", "Invoice");
        Assert.StartsWith("10 events published again", byType.StandardOutput.Trim(), StringComparison.Ordinal);
        var replayedInvoices = await ReplayedAsync("Invoice");
        Assert.Equal(invoices.Select(id => id.ToString()).Order(), replayedInvoices.Select(r => r.Header("id")).Order());
        OrderAssertions.FirstDeliveriesFollowCommitOrder(replayedInvoices,
            RelayCoreTests.Rows("Invoice", 10).Select((row, i) => (row.AggregateId, Id: invoices[i]))
                .GroupBy(x => x.AggregateId).ToDictionary(g => g.Key, g => g.Select(x => x.Id).ToList()));

        await ReplayAsync("--aggregate-id", "order-1"); // rows 1 and 6
        await ReplayAsync("--id", orders[2].ToString(), "--id", orders[3].ToString());
        await ReplayAsync("--since", "2026-01-01T00:00:00Z", "--until", "2026-01-02T00:00:00Z"); // rows 7, 8, 9
        var replayedOrders = (await ReplayedAsync("Order")).Select(r => r.Header("id")).Order().ToList();
        Assert.Equal(new[] { orders[1], orders[6], orders[2], orders[3], orders[7], orders[8], orders[9] }.Select(id => id.ToString()).Order(), replayedOrders);

        var paced = await ReplayAsync("--aggregate-type", "Invoice", "--max-rate", "5");
        var seconds = double.Parse(paced.StandardOutput.Split(" in ")[1].Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.True(seconds >= 1.7, $"10 events at --max-rate 5 took {seconds} s");

        Assert.Equal(slotHolder, await scenario.ScalarAsync<int>($"SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{scenario.Slot}'"));
        Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/readyz"));
    }

    [Fact]
    public async Task Replay_of_dead_letters_publishes_again_the_events_whose_rows_still_exist()
    {
        await using var scenario = await environment.CreateScenarioAsync("redrive");
        var topic = scenario.Topic("Report");
        // The cause: a producer limit too small for these reports. The relay dead-letters them...
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__Kafka__Properties__message.max.bytes"] = "4000",
        });
        var payload = $$"""{"report": "{{new string('r', 6000)}}"}""";
        var big = await scenario.InsertAsync(
            new OutboxRow("Report", "report-1", "Generated", payload), new OutboxRow("Report", "report-2", "Generated", payload),
            new OutboxRow("Report", "report-3", "Generated", payload));
        var small = await scenario.InsertAsync(RelayCoreTests.Rows("Report", 3));
        await scenario.WaitForEventsAsync([topic], small);
        await scenario.WaitForEventsAsync([scenario.DeadLetterTopic], big);
        await scenario.ScalarAsync<int>($"WITH gone AS (DELETE FROM outbox WHERE id = '{big[2]}' RETURNING 1) SELECT count(*)::int FROM gone");

        // ...and once the limit is fixed (the replay runs with the default), the redrive publishes what still has a row.
        var result = await RelayCommand.RunAsync(["replay", "--dead-letters"], scenario.RelaySettings());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("2 events published again", result.StandardOutput.Trim(), StringComparison.Ordinal);
        Assert.Contains("1 of 3 dead-lettered events have no row", result.StandardError, StringComparison.Ordinal);
        var replayed = (await scenario.ReadTopicAsync(topic)).Where(r => r.Header("atlas.replayed") == "true").ToList();
        Assert.Equal(new[] { big[0], big[1] }.Select(id => id.ToString()).Order(), replayed.Select(r => r.Header("id")).Order());
        Assert.All(replayed, r => Assert.Equal(payload, r.Payload));
        output.WriteLine(result.StandardOutput.Trim() + " / " + result.StandardError.Trim());
    }

    [Theory]
    [InlineData("replay --bogus")]
    [InlineData("replay --max-rate 0")]
    [InlineData("replay --max-rate lots")]
    [InlineData("replay --since yesterday")]
    [InlineData("replay --id not-a-uuid")]
    [InlineData("frobnicate")]
    public async Task A_bad_option_or_value_exits_2_with_one_line(string commandLine)
    {
        var result = await RelayCommand.RunAsync(commandLine.Split(' '));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Empty(result.StandardOutput);
        Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        output.WriteLine($"{commandLine}: {result.StandardError.Trim()}");
    }

    [Theory]
    [InlineData("--help", "replay")]
    [InlineData("-h", "replay")]
    [InlineData("replay --help", "--dead-letters")]
    [InlineData("--version", ".")]
    public async Task Help_and_version_answer_and_exit_0(string commandLine, string expected)
    {
        var result = await RelayCommand.RunAsync(commandLine.Split(' '));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(expected, result.StandardOutput, StringComparison.Ordinal);
    }
}

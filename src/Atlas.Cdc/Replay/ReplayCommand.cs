using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Atlas.Cdc.Events;

namespace Atlas.Cdc.Replay;

/// <summary>The <c>replay</c> subcommand: its options, their parsing and validation.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var since = TimeOption("--since", "Only rows created at or after this time (RFC 3339, e.g. 2026-12-01T08:00:00Z; UTC when no offset is given).");
        var until = TimeOption("--until", "Only rows created before this time.");
        var aggregateType = new Option<string>("--aggregate-type") { Description = "Only rows of this aggregate_type.", HelpName = "type" };
        var aggregateId = new Option<string>("--aggregate-id") { Description = "Only rows of this aggregate_id (the Kafka key).", HelpName = "id" };
        var outbox = new Option<string>("--outbox")
        {
            Description = "Only rows of this outbox (a name under Cdc:Outboxes; default: every outbox).",
            HelpName = "name",
        };
        var ids = new Option<Guid[]>("--id") { Description = "Only the event with this id; repeat for several.", HelpName = "uuid", CustomParser = ParseIds };
        var deadLetters = new Option<bool>("--dead-letters")
        {
            Description = "Only the events found in the dead-letter topic (Cdc:DeadLetter:Topic) whose rows still exist.",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Publish nothing; print how many events would be published." };
        var maxRate = new Option<int?>("--max-rate")
        {
            Description = "At most this many events per second (default: as fast as Kafka takes them).",
            HelpName = "events",
            CustomParser = ParseRate,
        };

        var command = new Command("replay",
            "Publish outbox rows to Kafka again, with the usual message contract plus the header atlas.replayed: true, per aggregate " +
            "in commit order (created_at order when track_commit_timestamp is off). Uses the relay's Cdc__* settings and never " +
            "touches the replication slot, so a running relay is undisturbed. With no filter every row of every outbox table is published.")
        {
            since, until, outbox, aggregateType, aggregateId, ids, deadLetters, dryRun, maxRate,
        };
        command.SetAction((parsed, _) =>
        {
            var filter = new RowFilter
            {
                Since = parsed.GetValue(since),
                Until = parsed.GetValue(until),
                Outboxes = parsed.GetValue(outbox) is { } name ? [name] : null,
                AggregateType = parsed.GetValue(aggregateType),
                AggregateId = parsed.GetValue(aggregateId),
                Ids = parsed.GetValue(ids) ?? [],
            };
            return ReplayRunner.RunAsync(new ReplayRequest(filter, parsed.GetValue(deadLetters), parsed.GetValue(dryRun), parsed.GetValue(maxRate) ?? 0));
        });
        return command;
    }

    private static Option<DateTimeOffset?> TimeOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "time",
        CustomParser = ParseTime,
    };

    // Values are converted here, with a message of ours: the parser's own conversion fails only when the value is
    // read, as an exception rather than a parse error.
    private static int? ParseRate(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var rate) && rate >= 1)
            return rate;
        result.AddError($"--max-rate '{text}' is not a whole number of events per second of at least 1.");
        return null;
    }

    private static Guid[] ParseIds(ArgumentResult result)
    {
        var ids = new List<Guid>();
        foreach (var token in result.Tokens)
        {
            if (Guid.TryParse(token.Value, out var id))
                ids.Add(id);
            else
                result.AddError($"--id '{token.Value}' is not a uuid such as 0b8e4f3c-6a1d-4c55-9e0f-2f7d1c3b9a10.");
        }
        return [.. ids];
    }

    private static DateTimeOffset? ParseTime(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
            return value;
        result.AddError($"'{text}' is not a time: use RFC 3339, e.g. 2026-12-01T08:00:00Z.");
        return null;
    }
}

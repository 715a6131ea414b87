using System.Globalization;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// Command-line options. With none, the full benchmark runs with the issue's figures. The rest exist for
/// profiling and tuning: run one scenario, or pass relay settings (<c>--relay Cdc__Kafka__Properties__linger.ms=1</c>).
/// </summary>
internal sealed class BenchmarkOptions
{
    public static readonly string[] AllScenarios = ["catchup", "live", "tracing", "big", "polling", "backfill", "outboxes"];

    /// <summary>
    /// What runs without <c>--only</c>: every scenario with a target of issue 23 and the polling baseline. The backfill
    /// (no target, a million rows, about a minute) runs on request (<c>--only ...,backfill</c>), which keeps the
    /// default run near six minutes now that row 3 delivers two large transactions twice each. <c>tracing</c> (row 2t, two
    /// more live windows: about a minute) runs by default; <c>outboxes</c> (row 1d: a second backlog of the catch-up's
    /// size, written into three tables, and its rounds) on request (<c>--only ...,outboxes</c>).
    /// </summary>
    public static readonly string[] DefaultScenarios = ["catchup", "live", "tracing", "big", "polling"];

    public HashSet<string> Scenarios { get; } = new(DefaultScenarios, StringComparer.Ordinal);

    public int CatchUpEvents { get; private set; } = 150_000;

    public int LiveRate { get; private set; } = 1_500;

    public int LiveSeconds { get; private set; } = 20;

    /// <summary>
    /// Live: the load between the window of the just-started relay and the window of the relay that has run for
    /// minutes (the same rate, not measured). The second window starts about this long plus two windows after the relay.
    /// </summary>
    public int LiveWarmSeconds { get; private set; } = 60;

    /// <summary>
    /// pgbench clients writing the catch-up backlog. Eight, as in the independent run of issue 23: concurrent
    /// writers interleave their transactions in the WAL, as an application's do.
    /// </summary>
    public int CatchUpClients { get; private set; } = 8;

    /// <summary>
    /// The pgbench script (Workloads/) of the catch-up backlog and the live load: single_row.sql (~170-byte payloads) by
    /// default; single_row_100b.sql is the ~100-byte workload of the runs before issue 23, for comparison.
    /// </summary>
    public string Workload { get; private set; } = "single_row.sql";

    /// <summary>Row 3: the first transaction's events; the second, in a fresh relay process, has <see cref="BigEventsLarge"/>.</summary>
    public int BigEvents { get; private set; } = 500_000;

    /// <summary>Row 3: the second, larger transaction: peak RSS must not grow with the transaction's size.</summary>
    public int BigEventsLarge { get; private set; } = 1_500_000;

    /// <summary>Rows in the outbox before the relay's first start (row 5, backfill).</summary>
    public int BackfillEvents { get; private set; } = 1_000_000;

    /// <summary>Partitions of every benchmark topic (the mock keeps ~5 MB per partition; acknowledgements do not depend on it).</summary>
    public int Partitions { get; private set; } = 6;

    /// <summary>
    /// Mock Kafka brokers. One, as in issue 23's independent run: the relay's producer then has one broker
    /// connection (one librdkafka thread batching, compressing and sending everything), as against a small
    /// cluster where three threads share that work. Topics get replication factor min(3, brokers).
    /// </summary>
    public int Brokers { get; private set; } = 1;

    public int ReplicationFactor => Math.Min(3, Brokers);

    /// <summary>Extra <c>Cdc__...</c> environment variables for the relay; Kafka properties also go to the polling relay.</summary>
    public Dictionary<string, string> RelaySettings { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Catch-up only, for tuning: more relay runs on the same backlog, each through its own slot created at the same
    /// point, with extra settings (<c>--variant nolinger:Cdc__Kafka__Properties__linger.ms=0,...</c>), another build
    /// (<c>ASSEMBLY=</c>), or another cluster shape (<c>BROKERS=3</c>, <c>PARTITIONS=4</c>: a topic of its own).
    /// </summary>
    public List<RelayVariant> Variants { get; } = [];

    /// <summary>
    /// Catch-up rounds: in each, pg_recvlogical reads the backlog through its own slot, then the relay (and each
    /// variant) through theirs. The headline is the median round: one busy moment on a shared machine moves one round.
    /// </summary>
    public int Repeat { get; private set; } = 3;

    /// <summary>Run the relay from its build output instead of publishing it (ReadyToRun) first.</summary>
    public bool NoPublish { get; private set; }

    /// <summary>Leave Nagle's algorithm on for the mock brokers' sockets, as librdkafka's mock has it (see <see cref="MockBrokerNoDelay"/>).</summary>
    public bool KeepNagle { get; private set; }

    /// <summary>Print each catch-up relay's own output to stderr after its run (diagnostics).</summary>
    public bool ShowRelayOutput { get; private set; }

    /// <summary>Catch-up: also run the relay with Avro values (schema registry stand-in) in every round, beside Json.</summary>
    public bool Avro { get; private set; } = true;

    public bool Runs(string scenario) => Scenarios.Contains(scenario);

    /// <summary>librdkafka properties among <see cref="RelaySettings"/>, so the polling relay uses the same producer settings.</summary>
    public Dictionary<string, string> KafkaProperties()
    {
        const string Prefix = "Cdc__Kafka__Properties__";
        return RelaySettings.Where(s => s.Key.StartsWith(Prefix, StringComparison.Ordinal))
            .ToDictionary(s => s.Key[Prefix.Length..], s => s.Value, StringComparer.Ordinal);
    }

    public static BenchmarkOptions Parse(string[] args)
    {
        var options = new BenchmarkOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--only":
                    options.Scenarios.Clear();
                    foreach (var scenario in Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!AllScenarios.Contains(scenario))
                            throw new ArgumentException($"Unknown scenario '{scenario}'; use {string.Join(", ", AllScenarios)}.");
                        options.Scenarios.Add(scenario);
                    }
                    break;
                case "--relay":
                    var (name, value) = PollingRelay.SplitSetting(Next());
                    options.RelaySettings[name] = value;
                    break;
                case "--variant":
                    options.Variants.Add(RelayVariant.Parse(Next()));
                    break;
                case "--no-publish": options.NoPublish = true; break;
                case "--keep-nagle": options.KeepNagle = true; break;
                case "--show-relay-output": options.ShowRelayOutput = true; break;
                case "--no-avro": options.Avro = false; break;
                case "--repeat": options.Repeat = Int(Next()); break;
                case "--catchup-events": options.CatchUpEvents = Int(Next()); break;
                case "--live-rate": options.LiveRate = Int(Next()); break;
                case "--live-seconds": options.LiveSeconds = Int(Next()); break;
                case "--big-events":
                    var sizes = Next().Split(',', StringSplitOptions.TrimEntries);
                    options.BigEvents = Int(sizes[0]);
                    options.BigEventsLarge = sizes.Length > 1 ? Int(sizes[1]) : 3 * options.BigEvents;
                    break;
                case "--live-warm-seconds": options.LiveWarmSeconds = Int(Next()); break;
                case "--catchup-clients": options.CatchUpClients = Int(Next()); break;
                case "--brokers": options.Brokers = Int(Next()); break;
                case "--workload": options.Workload = Next(); break;
                case "--backfill-events": options.BackfillEvents = Int(Next()); break;
                case "--partitions": options.Partitions = Int(Next()); break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'. Options: --only {string.Join(',', AllScenarios)} | " +
                                                "--relay Cdc__X=Y | --variant NAME:K=V,K=V | --repeat N | --no-avro | --no-publish | --keep-nagle | --catchup-events N | --catchup-clients N | " +
                                                "--live-rate N | --live-seconds N | --live-warm-seconds N | --big-events N[,M] | --backfill-events N | --partitions N | --brokers N | --workload FILE.sql");
            }
        }
        return options;
    }

    private static int Int(string text) => int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
}

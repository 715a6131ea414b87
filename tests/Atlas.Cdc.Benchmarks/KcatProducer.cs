using System.Globalization;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Publishing;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// The Kafka half of the client floor (issue 23): kcat (C, on Debian's librdkafka) producing the relay's messages
/// to the same brokers with the relay's producer settings, and nothing else: no decoding, no tracking, no .NET.
/// Each message has the event's key and payload (read back from the outbox) and five headers of the relay's names
/// and sizes; their values are fixed, kcat cannot vary them per message, which changes no size.
/// </summary>
internal static class KcatProducer
{
    private const string Kcat = "kcat";

    /// <summary>The five headers every relay message carries (README's message contract), with values of the real sizes.</summary>
    private static IEnumerable<(string Name, string Value)> Headers(string commitLsn) =>
    [
        (MessageHeaders.Id, "0b6c3f4e-8a41-4d55-9a1f-3c2d7e9b5a10"), // a uuid's text, as the relay sends the id column
        (MessageHeaders.EventType, "OrderPlaced"),
        (MessageHeaders.AggregateType, "order"),
        (MessageHeaders.CommitLsn, commitLsn),
        (MessageHeaders.CommitTime, "2026-12-07T20:28:00.123456Z"), // RFC 3339, UTC, microseconds: 27 bytes
    ];

    /// <summary>
    /// The relay's producer configuration as kcat properties: its defaults (and any <c>--relay
    /// Cdc__Kafka__Properties__...</c>), then its fixed guarantees (acks=all, idempotence, no timeout). Confluent.Kafka's
    /// own <c>dotnet.*</c> settings have no librdkafka equivalent.
    /// </summary>
    public static Dictionary<string, string> Settings(BenchmarkOptions options)
    {
        var settings = new Dictionary<string, string>(ProducerSettings.Defaults, StringComparer.Ordinal);
        foreach (var (name, value) in options.KafkaProperties())
            settings[name] = value;
        foreach (var (name, value) in ProducerSettings.Guarantees)
            settings[name] = value;
        settings["client.id"] = "atlas-cdc-bench-floor";
        foreach (var name in settings.Keys.Where(n => n.StartsWith("dotnet.", StringComparison.Ordinal)).ToList())
            settings.Remove(name);
        return settings;
    }

    private static List<string> Arguments(string bootstrap, string topic, string commitLsn, BenchmarkOptions options)
    {
        // One message per input line, "key<TAB>payload".
        var arguments = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-q" };
        foreach (var (name, value) in Headers(commitLsn))
            arguments.AddRange(["-H", $"{name}={value}"]);
        foreach (var (name, value) in Settings(options))
            arguments.AddRange(["-X", $"{name}={value}"]);
        return arguments;
    }

    /// <summary>
    /// Sends every line of <paramref name="file"/> and waits for every acknowledgement (kcat drains its queue before
    /// it exits), then checks the topic holds them all. Returns kcat's run time and its CPU, start-up included.
    /// </summary>
    public static async Task<(TimeSpan Elapsed, double CpuSeconds)> ProduceFileAsync(string bootstrap, string topic, string file, long messages,
        string commitLsn, BenchmarkOptions options)
    {
        var measured = await ExternalCommand.RunMeasuredAsync(Kcat, [.. Arguments(bootstrap, topic, commitLsn, options), "-l", file],
            TimeSpan.FromMinutes(5));
        measured.Result.EnsureSuccess();
        await EnsureCountAsync(bootstrap, topic, messages);
        return (measured.Elapsed, measured.CpuSeconds);
    }

    /// <summary>
    /// Fails unless the topic's partitions hold <paramref name="expected"/> messages: the sum of each partition's last
    /// offset + 1 (the mock drops old messages beyond ~5 MB a partition, but never renumbers them).
    /// </summary>
    private static async Task EnsureCountAsync(string bootstrap, string topic, long expected)
    {
        var result = (await ExternalCommand.RunAsync(Kcat, ["-C", "-b", bootstrap, "-t", topic, "-o", "-1", "-e", "-q", "-f", "%p %o\\n"],
            TimeSpan.FromMinutes(1))).EnsureSuccess();
        long count = 0;
        foreach (var line in result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            count += long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture) + 1;
        if (count != expected)
            throw new InvalidOperationException($"kcat was to produce {expected:N0} messages to {topic}; the topic holds {count:N0}.");
    }
}

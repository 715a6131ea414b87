using Atlas.Cdc.Configuration;

namespace Atlas.Cdc.Publishing;

/// <summary>
/// The Confluent.Kafka (librdkafka) configuration of the relay's producer: ordering and delivery guarantees that may not be
/// overridden, defaults chosen by measurement (docs/operations.md, "Producer settings"), then the user's pass-through properties.
/// </summary>
internal static class ProducerSettings
{
    /// <summary>Settings that make delivery at-least-once and ordered per key; overriding them is a configuration error.</summary>
    public static readonly IReadOnlyDictionary<string, string> Guarantees = new Dictionary<string, string>
    {
        ["enable.idempotence"] = "true",
        ["acks"] = "all",
        // Never give up on a message: a message given up on could be overtaken by a later one for the same key.
        ["message.timeout.ms"] = "0",
        // The acknowledged LSN moves on delivery reports alone.
        ["dotnet.producer.enable.delivery.reports"] = "true",
    };

    /// <summary>Aliases of the guarantees that would bypass them.</summary>
    private static readonly string[] s_protectedAliases =
        ["enable.idempotence", "acks", "request.required.acks", "message.timeout.ms", "delivery.timeout.ms",
         "dotnet.producer.enable.delivery.reports"];

    public static readonly IReadOnlyDictionary<string, string> Defaults = new Dictionary<string, string>
    {
        ["client.id"] = "atlas-cdc",
        // A report needs only its error (and partition and offset, always given): not a copy of key, value and headers.
        ["dotnet.producer.delivery.report.fields"] = "none",
        // Java-compatible key hashing: a key lands on the partition Debezium or a Java producer would choose.
        ["partitioner"] = "murmur2_random",
        ["linger.ms"] = "5",
        ["batch.num.messages"] = "10000",
        ["compression.type"] = "lz4",
        ["socket.nagle.disable"] = "true",
        // librdkafka's default backs off up to 10 s between reconnects: after a broker outage the relay then sat
        // idle for seconds with brokers back. 1 s resumes promptly at the cost of one attempt a second while down.
        ["reconnect.backoff.max.ms"] = "1000",
        ["queue.buffering.max.messages"] = "1000000",
        ["statistics.interval.ms"] = "0",
    };

    public static IEnumerable<string> Validate(KafkaOptions kafka)
    {
        if (string.IsNullOrWhiteSpace(kafka.BootstrapServers) && !kafka.Properties.ContainsKey("bootstrap.servers"))
            yield return "Cdc:Kafka:BootstrapServers (env Cdc__Kafka__BootstrapServers) is empty: give the Kafka bootstrap servers, e.g. kafka:9092.";
        foreach (var name in kafka.Properties.Keys)
        {
            if (s_protectedAliases.Contains(name, StringComparer.Ordinal))
                yield return $"Cdc:Kafka:Properties:{name} (env Cdc__Kafka__Properties__{name}) cannot be set: the relay fixes " +
                             "enable.idempotence=true, acks=all and message.timeout.ms=0 (never give up) to keep every event, in order.";
            if (name == "max.in.flight.requests.per.connection" &&
                (!int.TryParse(kafka.Properties[name], out var inFlight) || inFlight is < 1 or > 5))
                yield return $"Cdc:Kafka:Properties:{name} must be 1 to 5 with the idempotent producer (got '{kafka.Properties[name]}').";
        }
    }

    public static Dictionary<string, string> Build(KafkaOptions kafka)
    {
        var config = new Dictionary<string, string>(Defaults, StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(kafka.BootstrapServers))
            config["bootstrap.servers"] = kafka.BootstrapServers;
        foreach (var (name, value) in kafka.Properties)
            config[name] = value;
        foreach (var (name, value) in Guarantees)
            config[name] = value;
        return config;
    }
}

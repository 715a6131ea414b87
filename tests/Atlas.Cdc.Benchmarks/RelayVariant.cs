namespace Atlas.Cdc.Benchmarks;

/// <summary>A named set of extra relay settings (environment variables) to compare on the same catch-up backlog.</summary>
internal sealed record RelayVariant(string Name, IReadOnlyDictionary<string, string> Settings)
{
    public static readonly RelayVariant Baseline = new("relay", new Dictionary<string, string>());

    /// <summary>The relay with Avro values through the schema registry at <paramref name="registryUrl"/> (catch-up, beside the baseline's Json).</summary>
    public static RelayVariant Avro(string registryUrl) => new(AvroName, new Dictionary<string, string>
    {
        ["Cdc__Value__Format"] = "Avro",
        ["Cdc__SchemaRegistry__Url"] = registryUrl,
    });

    public const string AvroName = "avro";

    /// <summary>Not an environment variable: runs another build of the relay (<c>ASSEMBLY=/path/Atlas.Cdc.dll</c>), for before/after.</summary>
    public const string AssemblySetting = "ASSEMBLY";

    /// <summary>
    /// Not an environment variable: this variant produces to a mock cluster of its own with this many brokers
    /// (<c>BROKERS=3</c>), a topic of its own, so brokers are compared on the same backlog in the same rounds.
    /// </summary>
    public const string BrokersSetting = "BROKERS";

    /// <summary>Not an environment variable: this variant produces to a topic of its own with this many partitions (<c>PARTITIONS=4</c>).</summary>
    public const string PartitionsSetting = "PARTITIONS";

    /// <summary>Not an environment variable: appended to the relay's connection string (<c>PG_EXTRA=Read Buffer Size=65536</c>).</summary>
    public const string ConnectionStringExtraSetting = "PG_EXTRA";

    /// <summary>Parses <c>NAME:K=V,K=V</c>.</summary>
    public static RelayVariant Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
            throw new ArgumentException($"--variant expects NAME:K=V,K=V, got '{text}'.");
        var settings = text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(PollingRelay.SplitSetting)
            .ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);
        return new RelayVariant(text[..colon], settings);
    }
}

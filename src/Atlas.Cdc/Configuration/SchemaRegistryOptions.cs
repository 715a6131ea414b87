namespace Atlas.Cdc.Configuration;

/// <summary>The Confluent-compatible schema registry used by the Avro and JsonSchema value formats (<c>Cdc:SchemaRegistry</c>).</summary>
public sealed class SchemaRegistryOptions
{
    /// <summary>Registry URL(s), comma-separated; required for Avro and JsonSchema.</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// Properties for Confluent's registry client (basic auth, TLS, timeouts), named as Confluent spells them, with or
    /// without the <c>schema.registry.</c> prefix. Values are never logged.
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Subject of an event's value schema; <c>{topic}</c>, <c>{aggregate_type}</c> and <c>{event_type}</c> are replaced per event.</summary>
    public string Subject { get; set; } = "{topic}-value";

    /// <summary>A folder of <c>&lt;subject&gt;.avsc</c> / <c>&lt;subject&gt;.json</c> files registered at start; empty: never register.</summary>
    public string SchemasPath { get; set; } = "";

    /// <summary>How long a subject's latest schema is used before the registry is asked again (a newer version is picked up).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);
}

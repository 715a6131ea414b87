namespace Atlas.Cdc.Configuration;

/// <summary>How the Kafka message value is written (<c>Cdc:Value</c>).</summary>
public sealed class ValueOptions
{
    /// <summary>Json (the payload as PostgreSQL rendered it), Avro or JsonSchema (both through the schema registry).</summary>
    public ValueFormat Format { get; set; } = ValueFormat.Json;
}

/// <summary>The value formats; docs/consuming.md ("Schemas") describes each.</summary>
public enum ValueFormat
{
    /// <summary>The payload's JSON text exactly as PostgreSQL renders the jsonb.</summary>
    Json,

    /// <summary>The payload converted to the subject's latest Avro schema, in Confluent's wire format.</summary>
    Avro,

    /// <summary>The payload validated against the subject's latest JSON Schema, in Confluent's JSON wire format.</summary>
    JsonSchema,
}

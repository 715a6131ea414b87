namespace Atlas.Cdc.Configuration;

/// <summary>CloudEvents 1.0 over the Kafka protocol binding (<c>Cdc:CloudEvents</c>).</summary>
public sealed class CloudEventsOptions
{
    /// <summary>None, Binary (ce_* headers) or Structured (a JSON envelope; Json format only).</summary>
    public CloudEventsMode Mode { get; set; } = CloudEventsMode.None;

    /// <summary>The <c>source</c> attribute; empty means <c>/atlas-cdc/&lt;database&gt;/&lt;table&gt;</c>.</summary>
    public string Source { get; set; } = "";
}

/// <summary>CloudEvents content modes of the Kafka protocol binding.</summary>
public enum CloudEventsMode
{
    /// <summary>No CloudEvents attributes.</summary>
    None,

    /// <summary>Binary content mode: the value as the format writes it, attributes in <c>ce_*</c> headers.</summary>
    Binary,

    /// <summary>Structured content mode: the value is a CloudEvents JSON envelope with the payload as <c>data</c>.</summary>
    Structured,
}

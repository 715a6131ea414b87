namespace Atlas.Cdc.Sandbox.SchemaRegistry;

/// <summary>How the <see cref="SchemaRegistryStandIn"/> misbehaves, for outage tests.</summary>
public enum RegistryFailure
{
    /// <summary>Answers every request.</summary>
    None,

    /// <summary>Answers every request with 503 Service Unavailable (error code 50301).</summary>
    ServerError,

    /// <summary>Drops every connection without an answer, as an unreachable registry would look to a client.</summary>
    Unreachable,
}

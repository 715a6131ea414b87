namespace Atlas.Cdc.Sandbox.SchemaRegistry;

/// <summary>One version of a subject in the <see cref="SchemaRegistryStandIn"/>.</summary>
/// <param name="Subject">The subject.</param>
/// <param name="Version">1, 2, ... within the subject.</param>
/// <param name="Id">The schema's global id (the same text under two subjects has one id).</param>
/// <param name="Schema">The schema text as registered.</param>
/// <param name="SchemaType"><c>AVRO</c> or <c>JSON</c>.</param>
public sealed record RegisteredSchemaVersion(string Subject, int Version, int Id, string Schema, string SchemaType);

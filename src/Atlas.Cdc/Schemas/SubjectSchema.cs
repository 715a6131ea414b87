namespace Atlas.Cdc.Schemas;

/// <summary>
/// What the registry holds for a subject: its latest version, compiled; or why events of the subject cannot be
/// written (<see cref="Problem"/>: no schema at all, or a latest version the relay cannot use).
/// </summary>
internal sealed record SubjectSchema<T>(string Subject, int Id, int Version, T? Compiled, string? Problem) where T : class
{
    /// <summary>The subject has a version in the registry (usable or not).</summary>
    public bool Found => Id > 0;

    /// <summary>How reasons name the schema: <c>subject 'orders-value' version 3 (schema id 7)</c>.</summary>
    public string Describe() => Found ? $"subject '{Subject}' version {Version} (schema id {Id})" : $"subject '{Subject}'";
}

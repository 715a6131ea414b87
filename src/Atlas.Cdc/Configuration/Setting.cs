namespace Atlas.Cdc.Configuration;

/// <summary>One setting of <see cref="CdcOptions"/>: its configuration path, the type its value must parse as, its default.</summary>
/// <param name="Path">Configuration path such as <c>Cdc:Retention:Enabled</c>; a dictionary's entries are under it.</param>
/// <param name="Type">The property's type; for a dictionary, the type of its values.</param>
/// <param name="Default">The default value (null for a dictionary).</param>
/// <param name="IsDictionary">True for a name/value map such as <c>Cdc:Kafka:Properties</c>.</param>
public sealed record Setting(string Path, Type Type, object? Default, bool IsDictionary)
{
    /// <summary>The environment variable spelling: <c>Cdc__Retention__Enabled</c>.</summary>
    public string EnvironmentVariable => Path.Replace(":", "__", StringComparison.Ordinal);
}

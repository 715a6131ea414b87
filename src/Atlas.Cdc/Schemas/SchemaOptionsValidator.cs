using Atlas.Cdc.Configuration;

namespace Atlas.Cdc.Schemas;

/// <summary>Checks <c>Cdc:Value</c>, <c>Cdc:SchemaRegistry</c> and <c>Cdc:CloudEvents</c>; each error names the setting.</summary>
public static class SchemaOptionsValidator
{
    public static IEnumerable<string> Validate(CdcOptions options)
    {
        var format = options.Value.Format;
        if (!Enum.IsDefined(format))
            yield return $"Cdc:Value:Format (env Cdc__Value__Format) must be Json, Avro or JsonSchema (got {format}).";
        var registry = options.SchemaRegistry;
        if (format is ValueFormat.Avro or ValueFormat.JsonSchema)
        {
            if (string.IsNullOrWhiteSpace(registry.Url))
                yield return $"Cdc:SchemaRegistry:Url (env Cdc__SchemaRegistry__Url) is required when Cdc:Value:Format is {format}.";
            else
                foreach (var error in RegistryClientSettings.Validate(registry))
                    yield return error;
        }
        if (SubjectNamer.ValidateTemplate(registry.Subject) is { } subjectError)
            yield return $"Cdc:SchemaRegistry:Subject (env Cdc__SchemaRegistry__Subject) {subjectError}.";
        if (registry.SchemasPath.Length > 0 && !Directory.Exists(registry.SchemasPath))
            yield return $"Cdc:SchemaRegistry:SchemasPath (env Cdc__SchemaRegistry__SchemasPath) '{registry.SchemasPath}' is not a directory.";
        if (registry.RefreshInterval <= TimeSpan.Zero)
            yield return $"Cdc:SchemaRegistry:RefreshInterval (env Cdc__SchemaRegistry__RefreshInterval) must be a positive duration such as 00:00:30 (got {registry.RefreshInterval}).";

        var cloudEvents = options.CloudEvents;
        if (!Enum.IsDefined(cloudEvents.Mode))
            yield return $"Cdc:CloudEvents:Mode (env Cdc__CloudEvents__Mode) must be None, Binary or Structured (got {cloudEvents.Mode}).";
        if (cloudEvents.Mode == CloudEventsMode.Structured && format != ValueFormat.Json)
            yield return $"Cdc:CloudEvents:Mode (env Cdc__CloudEvents__Mode) Structured writes a JSON envelope and needs Cdc:Value:Format Json (got {format}); use Binary with {format}.";
        if (cloudEvents.Source.Length > 0 && !Uri.TryCreate(cloudEvents.Source, UriKind.RelativeOrAbsolute, out _))
            yield return $"Cdc:CloudEvents:Source (env Cdc__CloudEvents__Source) '{cloudEvents.Source}' is not a URI reference such as /atlas-cdc/app/public.outbox.";
    }
}

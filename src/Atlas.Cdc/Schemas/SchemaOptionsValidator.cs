using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;

namespace Atlas.Cdc.Schemas;

/// <summary>Checks <c>Cdc:Value</c>, <c>Cdc:SchemaRegistry</c>, <c>Cdc:CloudEvents</c> and each outbox's value format and subject; each error names the setting.</summary>
public static class SchemaOptionsValidator
{
    public static IEnumerable<string> Validate(CdcOptions options)
    {
        var format = options.Value.Format;
        if (!Enum.IsDefined(format))
            yield return $"Cdc:Value:Format (env Cdc__Value__Format) must be Json, Avro or JsonSchema (got {format}).";
        var registry = options.SchemaRegistry;
        if (SubjectNamer.ValidateTemplate(registry.Subject) is { } subjectError)
            yield return $"Cdc:SchemaRegistry:Subject (env Cdc__SchemaRegistry__Subject) {subjectError}.";
        foreach (var (name, outbox) in options.Outboxes)
        {
            if (outbox.ValueFormat is { } own && !Enum.IsDefined(own))
                yield return $"Cdc:Outboxes:{name}:ValueFormat (env Cdc__Outboxes__{name}__ValueFormat) must be Json, Avro or JsonSchema (got {own}).";
            if (outbox.Subject.Length > 0 && SubjectNamer.ValidateTemplate(outbox.Subject) is { } outboxSubjectError)
                yield return $"Cdc:Outboxes:{name}:Subject (env Cdc__Outboxes__{name}__Subject) {outboxSubjectError}.";
        }

        // The registry is needed as soon as one outbox writes through it; the first such setting is named.
        var throughRegistry = FormatSettings(options).FirstOrDefault(f => f.Format is ValueFormat.Avro or ValueFormat.JsonSchema);
        if (throughRegistry.Setting is not null)
        {
            if (string.IsNullOrWhiteSpace(registry.Url))
                yield return $"Cdc:SchemaRegistry:Url (env Cdc__SchemaRegistry__Url) is required when {throughRegistry.Setting} is {throughRegistry.Format}.";
            else
                foreach (var error in RegistryClientSettings.Validate(registry))
                    yield return error;
        }
        if (registry.SchemasPath.Length > 0 && !Directory.Exists(registry.SchemasPath))
            yield return $"Cdc:SchemaRegistry:SchemasPath (env Cdc__SchemaRegistry__SchemasPath) '{registry.SchemasPath}' is not a directory.";
        if (registry.RefreshInterval <= TimeSpan.Zero)
            yield return $"Cdc:SchemaRegistry:RefreshInterval (env Cdc__SchemaRegistry__RefreshInterval) must be a positive duration such as 00:00:30 (got {registry.RefreshInterval}).";

        var cloudEvents = options.CloudEvents;
        if (!Enum.IsDefined(cloudEvents.Mode))
            yield return $"Cdc:CloudEvents:Mode (env Cdc__CloudEvents__Mode) must be None, Binary or Structured (got {cloudEvents.Mode}).";
        if (cloudEvents.Mode == CloudEventsMode.Structured)
            foreach (var (setting, outboxFormat) in FormatSettings(options).Where(f => f.Format != ValueFormat.Json))
                yield return $"Cdc:CloudEvents:Mode (env Cdc__CloudEvents__Mode) Structured writes a JSON envelope and needs every value format to be Json, but {setting} is {outboxFormat}; use Binary with {outboxFormat}.";
        if (cloudEvents.Source.Length > 0 && !Uri.TryCreate(cloudEvents.Source, UriKind.RelativeOrAbsolute, out _))
            yield return $"Cdc:CloudEvents:Source (env Cdc__CloudEvents__Source) '{cloudEvents.Source}' is not a URI reference such as /atlas-cdc/app/public.outbox.";
    }

    /// <summary>The value format each outbox ends up with, and the setting that chose it (each pair once).</summary>
    private static IEnumerable<(string Setting, ValueFormat Format)> FormatSettings(CdcOptions options) =>
        OutboxDefinition.From(options).Select(outbox => (outbox.ValueFormatSetting, outbox.ValueFormat)).Distinct();
}

using Confluent.SchemaRegistry;
using RegistrySchema = Confluent.SchemaRegistry.Schema;

namespace Atlas.Cdc.Schemas;

/// <summary>
/// Registers the files of <c>Cdc:SchemaRegistry:SchemasPath</c> at start: <c>&lt;subject&gt;.avsc</c> as Avro,
/// <c>&lt;subject&gt;.json</c> as JSON Schema, in name order. For development and the demo; by default the relay
/// never registers anything. While the registry is unreachable it retries; a file the registry refuses is logged
/// and skipped (its subject then has no schema, and its events are dead-lettered with that reason).
/// </summary>
internal static class SchemaFiles
{
    public static async Task RegisterAsync(ISchemaRegistryClient client, string folder, TimeSpan firstRetryDelay, TimeSpan maxRetryDelay,
        ILogger logger, Func<string, string> redact, CancellationToken cancellationToken)
    {
        var files = Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".avsc", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            logger.LogWarning("Cdc:SchemaRegistry:SchemasPath {Folder} holds no .avsc or .json file", folder);
        foreach (var file in files)
        {
            var subject = Path.GetFileNameWithoutExtension(file);
            var type = file.EndsWith(".avsc", StringComparison.Ordinal) ? SchemaType.Avro : SchemaType.Json;
            var text = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
            var delay = firstRetryDelay;
            while (true)
            {
                try
                {
                    var id = await client.RegisterSchemaAsync(subject, new RegistrySchema(text, type)).ConfigureAwait(false);
                    logger.LogInformation("Registered {File} as subject {Subject} ({Type}), schema id {Id}", Path.GetFileName(file), subject, type, id);
                    break;
                }
                catch (SchemaRegistryException e) when ((int)e.Status is >= 400 and < 500 and not (401 or 403 or 408 or 429))
                {
                    logger.LogError("The schema registry refused {File} for subject {Subject}: {Reason}", Path.GetFileName(file), subject, e.Message);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning("Registering {File} failed ({Reason}); retrying in {Delay}", Path.GetFileName(file), redact(e.Message), delay);
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, maxRetryDelay.Ticks));
                }
            }
        }
    }
}

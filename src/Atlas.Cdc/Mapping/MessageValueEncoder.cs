using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Offsets;
using Atlas.Cdc.Schemas;
using Atlas.Cdc.Schemas.Avro;
using Atlas.Cdc.Schemas.CloudEvents;
using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace Atlas.Cdc.Mapping;

/// <summary>
/// Writes the message value in each outbox's format (<c>Cdc:Outboxes:&lt;name&gt;:ValueFormat</c>, else
/// <c>Cdc:Value:Format</c>) under its subject template, and adds CloudEvents attributes (<c>Cdc:CloudEvents:Mode</c>).
/// <see cref="Create"/> returns null when every outbox writes plain Json without CloudEvents: messages then go out
/// exactly as <see cref="KafkaMessageFactory"/> built them. Called from the publishing loop only, in commit order.
/// </summary>
internal sealed class MessageValueEncoder : IDisposable
{
    /// <summary>By <see cref="OutboxDefinition.Index"/>.</summary>
    private readonly ValueFormat[] _formats;
    private readonly SubjectNamer[] _subjects;
    private readonly CachedSchemaRegistryClient? _client;
    private readonly CancellationTokenSource _registration = new();
    private readonly SchemaCache<AvroPlan>? _avro;
    private readonly SchemaCache<JsonSchemaValidator>? _jsonSchema;
    private readonly CloudEventsWriter? _cloudEvents;
    private readonly SchemaMetrics _metrics;

    private MessageValueEncoder(CdcOptions options, OutboxCatalog outboxes, SchemaMetrics metrics, ILogger logger)
    {
        _formats = [.. outboxes.All.Select(o => o.ValueFormat)];
        _subjects = [.. outboxes.All.Select(o => new SubjectNamer(o.SubjectTemplate))];
        _metrics = metrics;
        var registry = options.SchemaRegistry;
        if (options.CloudEvents.Mode != CloudEventsMode.None)
        {
            _cloudEvents = new CloudEventsWriter(options.CloudEvents.Mode, options.CloudEvents.Source, CloudEventsWriter.DatabaseOf(options));
        }
        if (_formats.All(f => f == ValueFormat.Json))
            return;

        _client = RegistryClientSettings.CreateClient(registry);
        var urls = registry.Url.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string Redact(string text) => urls.Aggregate(text, (current, url) => current.Replace(url, RegistryClientSettings.Redact(url), StringComparison.Ordinal));
        var client = _client;
        // One registration of the schema files, awaited by both caches when outboxes use both formats.
        Func<CancellationToken, Task>? register = null;
        if (registry.SchemasPath.Length > 0)
        {
            var registered = new Lazy<Task>(() => SchemaFiles.RegisterAsync(client, registry.SchemasPath, options.ReconnectDelay, options.ReconnectMaxDelay,
                logger, Redact, _registration.Token));
            register = _ => registered.Value;
        }
        if (_formats.Contains(ValueFormat.Avro))
            _avro = new SchemaCache<AvroPlan>(_client, CompileAvro, registry.RefreshInterval, options.ReconnectDelay, options.ReconnectMaxDelay,
                metrics, logger, Redact, register);
        if (_formats.Contains(ValueFormat.JsonSchema))
            _jsonSchema = new SchemaCache<JsonSchemaValidator>(_client, CompileJsonSchema, registry.RefreshInterval, options.ReconnectDelay,
                options.ReconnectMaxDelay, metrics, logger, Redact, register);
        foreach (var outbox in outboxes.All.Where(o => o.ValueFormat != ValueFormat.Json))
            logger.LogInformation("Message values of {Outbox} as {Format} through the schema registry at {Url}, subject {Subject}, refreshed every {Interval}",
                outbox, outbox.ValueFormat, Redact(registry.Url), outbox.SubjectTemplate, registry.RefreshInterval);
    }

    /// <summary>Null when nothing is to be done to any message (every outbox Json, no CloudEvents).</summary>
    public static MessageValueEncoder? Create(CdcOptions options, OutboxCatalog outboxes, SchemaMetrics metrics, ILogger logger) =>
        outboxes.All.All(o => o.ValueFormat == ValueFormat.Json) && options.CloudEvents.Mode == CloudEventsMode.None
            ? null
            : new MessageValueEncoder(options, outboxes, metrics, logger);

    /// <summary>Why values cannot be written right now (the schema registry is unavailable), or null.</summary>
    public string? Unavailable => _avro?.Unavailable ?? _jsonSchema?.Unavailable;

    /// <summary>
    /// Sets the message's value (and CloudEvents headers). Returns why the event is refused for good (a payload that
    /// does not fit, a subject without a schema), or null. Waits while the registry is unavailable; cancelling ends
    /// the wait with <see cref="OperationCanceledException"/>.
    /// </summary>
    public async ValueTask<string?> ApplyAsync(Message<byte[]?, byte[]?> message, OutboxEvent outboxEvent, TrackedTransaction transaction,
        string topic, CancellationToken cancellationToken)
    {
        var contentType = "application/json";
        var outbox = outboxEvent.OutboxIndex;
        switch (_formats[outbox])
        {
            case ValueFormat.Avro:
            {
                var schema = await _avro!.GetAsync(_subjects[outbox].For(topic, outboxEvent.AggregateType, outboxEvent.EventType), cancellationToken).ConfigureAwait(false);
                if (schema.Compiled is not { } plan)
                    return Refused(schema.Subject, schema.Problem!);
                try
                {
                    message.Value = plan.Encode(outboxEvent.Payload);
                }
                catch (AvroConversionException e)
                {
                    return Refused(schema.Subject, $"the payload does not fit the Avro schema of {schema.Describe()}: {e.Message}");
                }
                contentType = "application/avro";
                break;
            }
            case ValueFormat.JsonSchema:
            {
                var schema = await _jsonSchema!.GetAsync(_subjects[outbox].For(topic, outboxEvent.AggregateType, outboxEvent.EventType), cancellationToken).ConfigureAwait(false);
                if (schema.Compiled is not { } validator)
                    return Refused(schema.Subject, schema.Problem!);
                if (validator.Validate(outboxEvent.Payload) is { } violation)
                    return Refused(schema.Subject, $"the payload does not fit the JSON Schema of {schema.Describe()}: {violation}");
                message.Value = validator.Encode(outboxEvent.Payload);
                break;
            }
        }
        _cloudEvents?.Apply(message, outboxEvent, transaction, contentType);
        return null;
    }

    private string Refused(string subject, string reason)
    {
        _metrics.For(subject).Failure();
        return reason;
    }

    private static AvroPlan CompileAvro(RegisteredSchema schema)
    {
        if (schema.SchemaType != SchemaType.Avro)
            throw new InvalidOperationException($"it is a {schema.SchemaType} schema and the outbox's value format is Avro");
        if (schema.References is { Count: > 0 })
            throw new InvalidOperationException("it refers to other schemas, which the relay does not resolve");
        return new AvroPlan(schema.Id, AvroPlanCompiler.Compile(schema.SchemaString));
    }

    private static JsonSchemaValidator CompileJsonSchema(RegisteredSchema schema)
    {
        if (schema.SchemaType != SchemaType.Json)
            throw new InvalidOperationException($"it is a {schema.SchemaType} schema and the outbox's value format is JsonSchema");
        if (schema.References is { Count: > 0 })
            throw new InvalidOperationException("it refers to other schemas, which the relay does not resolve");
        return JsonSchemaValidator.Parse(schema.Id, schema.SchemaString);
    }

    public void Dispose()
    {
        _registration.Cancel();
        _avro?.Dispose();
        _jsonSchema?.Dispose();
        _registration.Dispose();
        _client?.Dispose();
    }
}

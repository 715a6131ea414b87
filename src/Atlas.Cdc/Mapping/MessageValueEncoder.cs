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
/// Writes the message value in the configured format (<c>Cdc:Value:Format</c>) and adds CloudEvents attributes
/// (<c>Cdc:CloudEvents:Mode</c>). <see cref="Create"/> returns null for plain Json without CloudEvents: the
/// message then goes out exactly as <see cref="Publishing.KafkaMessageFactory"/> built it. Called from the
/// publishing loop only, in commit order.
/// </summary>
internal sealed class MessageValueEncoder : IDisposable
{
    private readonly ValueFormat _format;
    private readonly SubjectNamer _subjects;
    private readonly CachedSchemaRegistryClient? _client;
    private readonly SchemaCache<AvroPlan>? _avro;
    private readonly SchemaCache<JsonSchemaValidator>? _jsonSchema;
    private readonly CloudEventsWriter? _cloudEvents;
    private readonly SchemaMetrics _metrics;

    private MessageValueEncoder(CdcOptions options, SchemaMetrics metrics, ILogger logger)
    {
        _format = options.Value.Format;
        _metrics = metrics;
        var registry = options.SchemaRegistry;
        _subjects = new SubjectNamer(registry.Subject);
        if (options.CloudEvents.Mode != CloudEventsMode.None)
        {
            _cloudEvents = new CloudEventsWriter(options.CloudEvents.Mode, options.CloudEvents.Source, CloudEventsWriter.DatabaseOf(options));
        }
        if (_format == ValueFormat.Json)
            return;

        _client = RegistryClientSettings.CreateClient(registry);
        var urls = registry.Url.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string Redact(string text) => urls.Aggregate(text, (current, url) => current.Replace(url, RegistryClientSettings.Redact(url), StringComparison.Ordinal));
        var client = _client;
        Func<CancellationToken, Task>? register = registry.SchemasPath.Length == 0
            ? null
            : token => SchemaFiles.RegisterAsync(client, registry.SchemasPath, options.ReconnectDelay, options.ReconnectMaxDelay, logger, Redact, token);
        if (_format == ValueFormat.Avro)
            _avro = new SchemaCache<AvroPlan>(_client, CompileAvro, registry.RefreshInterval, options.ReconnectDelay, options.ReconnectMaxDelay,
                metrics, logger, Redact, register);
        else
            _jsonSchema = new SchemaCache<JsonSchemaValidator>(_client, CompileJsonSchema, registry.RefreshInterval, options.ReconnectDelay,
                options.ReconnectMaxDelay, metrics, logger, Redact, register);
        logger.LogInformation("Message values as {Format} through the schema registry at {Url}, subject {Subject}, refreshed every {Interval}",
            _format, Redact(registry.Url), registry.Subject, registry.RefreshInterval);
    }

    /// <summary>Null when nothing is to be done to the message (Json, no CloudEvents).</summary>
    public static MessageValueEncoder? Create(CdcOptions options, SchemaMetrics metrics, ILogger logger) =>
        options.Value.Format == ValueFormat.Json && options.CloudEvents.Mode == CloudEventsMode.None
            ? null
            : new MessageValueEncoder(options, metrics, logger);

    /// <summary>Why values cannot be written right now (the registry is unavailable), or null.</summary>
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
        if (_avro is not null)
        {
            var schema = await _avro.GetAsync(_subjects.For(topic, outboxEvent.AggregateType, outboxEvent.EventType), cancellationToken).ConfigureAwait(false);
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
        }
        else if (_jsonSchema is not null)
        {
            var schema = await _jsonSchema.GetAsync(_subjects.For(topic, outboxEvent.AggregateType, outboxEvent.EventType), cancellationToken).ConfigureAwait(false);
            if (schema.Compiled is not { } validator)
                return Refused(schema.Subject, schema.Problem!);
            if (validator.Validate(outboxEvent.Payload) is { } violation)
                return Refused(schema.Subject, $"the payload does not fit the JSON Schema of {schema.Describe()}: {violation}");
            message.Value = validator.Encode(outboxEvent.Payload);
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
            throw new InvalidOperationException($"it is a {schema.SchemaType} schema and Cdc:Value:Format is Avro");
        if (schema.References is { Count: > 0 })
            throw new InvalidOperationException("it refers to other schemas, which the relay does not resolve");
        return new AvroPlan(schema.Id, AvroPlanCompiler.Compile(schema.SchemaString));
    }

    private static JsonSchemaValidator CompileJsonSchema(RegisteredSchema schema)
    {
        if (schema.SchemaType != SchemaType.Json)
            throw new InvalidOperationException($"it is a {schema.SchemaType} schema and Cdc:Value:Format is JsonSchema");
        if (schema.References is { Count: > 0 })
            throw new InvalidOperationException("it refers to other schemas, which the relay does not resolve");
        return JsonSchemaValidator.Parse(schema.Id, schema.SchemaString);
    }

    public void Dispose()
    {
        _avro?.Dispose();
        _jsonSchema?.Dispose();
        _client?.Dispose();
    }
}

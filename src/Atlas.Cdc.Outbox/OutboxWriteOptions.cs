using System.Text.Json;
using Atlas.Cdc.Outbox.Writing;

namespace Atlas.Cdc.Outbox;

/// <summary>
/// How events are written: which table, how payloads are serialized, whether trace context is added. Create one
/// per application and reuse it (it is read-only once used); null everywhere means <see cref="Default"/>.
/// </summary>
public sealed class OutboxWriteOptions
{
    /// <summary>
    /// The defaults: table <c>public.outbox</c>, <see cref="JsonSerializerDefaults.Web"/> (camelCase names),
    /// trace context on.
    /// </summary>
    public static OutboxWriteOptions Default { get; } = new();

    private static readonly JsonSerializerOptions s_webOptions = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The outbox table, <c>name</c> or <c>schema.name</c> (default <c>public.outbox</c>, as the relay's
    /// <c>Cdc:Table</c>). Names are quoted as given, so they are case-sensitive.
    /// </summary>
    public string Table { get; init; } = "public.outbox";

    /// <summary>
    /// The payload serializer's options. For a source-generated context pass its options, e.g.
    /// <c>OrdersJsonContext.Default.Options</c>: each event type's <see cref="System.Text.Json.Serialization.Metadata.JsonTypeInfo"/>
    /// is then taken from the context. Null means <see cref="JsonSerializerDefaults.Web"/>.
    /// </summary>
    public JsonSerializerOptions? SerializerOptions { get; init; }

    /// <summary>
    /// Write the current <see cref="System.Diagnostics.Activity"/> (W3C ids) into the row's headers as
    /// <c>traceparent</c>, and <c>tracestate</c> and <c>baggage</c> when present (default true).
    /// </summary>
    public bool WriteTraceContext { get; init; } = true;

    internal JsonSerializerOptions EffectiveSerializerOptions => SerializerOptions ?? s_webOptions;

    // Derived from Table alone, which cannot change after construction: a benign cache.
    internal OutboxSql Sql => _sql ??= OutboxSql.For(Table);

    private OutboxSql? _sql;
}

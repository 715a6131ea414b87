using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json;

namespace Atlas.Cdc.Outbox.Writing;

/// <summary>
/// Turns an event into an <see cref="OutboxRow"/>: every check runs here, before any SQL, so a rejected event
/// never reaches the database.
/// </summary>
internal static class OutboxRowFactory
{
    public static OutboxRow Create(object outboxEvent, string? idempotencyKey, IReadOnlyDictionary<string, string>? headers, OutboxWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(outboxEvent);
        return Create(OutboxEventDescriptor.For(outboxEvent.GetType()), outboxEvent, idempotencyKey, headers, options);
    }

    public static OutboxRow Create<TEvent>(TEvent outboxEvent, string? idempotencyKey, IReadOnlyDictionary<string, string>? headers, OutboxWriteOptions options)
        where TEvent : notnull
    {
        // The static type is usually the event's own type: its descriptor is then found without reflection.
        var descriptor = outboxEvent.GetType() == typeof(TEvent)
            ? OutboxEventDescriptor.For<TEvent>()
            : OutboxEventDescriptor.For(outboxEvent.GetType());
        return Create(descriptor, outboxEvent, idempotencyKey, headers, options);
    }

    private static OutboxRow Create(
        OutboxEventDescriptor descriptor, object outboxEvent, string? idempotencyKey, IReadOnlyDictionary<string, string>? headers, OutboxWriteOptions options)
    {
        descriptor.ThrowIfTypeInvalid();
        descriptor.CheckNotNullMembers(outboxEvent);
        if (descriptor.HasDataAnnotations)
            Validate(descriptor, outboxEvent);
        var aggregateId = descriptor.AggregateIdOf(outboxEvent);
        var key = CheckKey(descriptor, idempotencyKey ?? descriptor.IdempotencyKeyOf(outboxEvent));
        var headersJson = HeadersJson(descriptor, headers, options);
        var payload = Serialize(descriptor, outboxEvent, options);
        return new OutboxRow(NewId(), descriptor.AggregateType, aggregateId, descriptor.EventType, payload, headersJson, key);
    }

    private static void Validate(OutboxEventDescriptor descriptor, object outboxEvent)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(outboxEvent, new ValidationContext(outboxEvent), results, validateAllProperties: true))
            return;
        var member = results.SelectMany(r => r.MemberNames).FirstOrDefault();
        var reasons = string.Join("; ", results.Select(r => r.ErrorMessage));
        throw new OutboxEventValidationException(descriptor.ClrType, member, reasons);
    }

    private static string? CheckKey(OutboxEventDescriptor descriptor, string? key)
    {
        if (key is null)
            return null;
        if (string.IsNullOrWhiteSpace(key))
            throw new OutboxEventValidationException(descriptor.ClrType, descriptor.IdempotencyKeyMember,
                "the idempotency key is blank; give null for no key");
        if (key.Length > OutboxLimits.MaxIdempotencyKeyLength)
            throw new OutboxEventValidationException(descriptor.ClrType, descriptor.IdempotencyKeyMember,
                $"the idempotency key is {key.Length} characters long; at most {OutboxLimits.MaxIdempotencyKeyLength} are allowed");
        return key;
    }

    /// <summary>The row's headers object: trace context first, then the caller's (which win on the same name); null when empty.</summary>
    private static string? HeadersJson(OutboxEventDescriptor descriptor, IReadOnlyDictionary<string, string>? extra, OutboxWriteOptions options)
    {
        var headers = new List<KeyValuePair<string, string>>(3 + (extra?.Count ?? 0));
        if (options.WriteTraceContext)
            TraceContextHeaders.AddTo(headers, Activity.Current);
        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
        {
            var member = $"headers['{name}']";
            if (string.IsNullOrEmpty(name) || name.Length > OutboxLimits.MaxHeaderNameLength)
                throw new OutboxEventValidationException(descriptor.ClrType, member,
                    $"a header name must have 1 to {OutboxLimits.MaxHeaderNameLength} characters");
            if (OutboxHeaderNames.IsReserved(name))
                throw new OutboxEventValidationException(descriptor.ClrType, member,
                    "the relay writes this header itself (id, event_type, aggregate_type, atlas.*); choose another name");
            if (value is null)
                throw new OutboxEventValidationException(descriptor.ClrType, member, "the header value is null");
            headers.RemoveAll(h => h.Key == name);
            headers.Add(new(name, value));
        }
        if (headers.Count == 0)
            return null;

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in headers)
                writer.WriteString(name, value);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Serialize(OutboxEventDescriptor descriptor, object outboxEvent, OutboxWriteOptions options)
    {
        string json;
        try
        {
            // With a source-generated context's options, the type's JsonTypeInfo comes from that context.
            json = JsonSerializer.Serialize(outboxEvent, descriptor.ClrType, options.EffectiveSerializerOptions);
        }
        catch (JsonException e)
        {
            throw new OutboxEventValidationException(descriptor.ClrType, e.Path ?? "payload", "the payload could not be serialized to JSON: " + e.Message, e);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new OutboxEventValidationException(descriptor.ClrType, "payload", "the payload could not be serialized to JSON: " + e.Message, e);
        }

        // PostgreSQL's jsonb refuses the escaped NUL character; say so now rather than fail the INSERT.
        if (json.Contains("\\u0000", StringComparison.Ordinal) && ContainsEscapedNul(json))
            throw new OutboxEventValidationException(descriptor.ClrType, "payload",
                "the payload contains the character U+0000, which PostgreSQL's jsonb cannot store");
        return json;
    }

    /// <summary>True for a real <c>\u0000</c> escape, not for an escaped backslash followed by <c>u0000</c>.</summary>
    private static bool ContainsEscapedNul(string json)
    {
        for (var i = 0; i < json.Length - 5; i++)
        {
            if (json[i] != '\\')
                continue;
            if (json[i + 1] == 'u' && json.AsSpan(i + 2, 4).SequenceEqual("0000"))
                return true;
            i++; // skip the escaped character
        }
        return false;
    }

#if NET9_0_OR_GREATER
    // Time-ordered (UUIDv7): new rows land at the end of the primary key index.
    private static Guid NewId() => Guid.CreateVersion7();
#else
    private static Guid NewId() => Guid.NewGuid();
#endif
}

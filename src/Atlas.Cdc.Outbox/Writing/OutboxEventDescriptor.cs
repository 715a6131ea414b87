using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Atlas.Cdc.Outbox.Writing;

/// <summary>
/// What the writer knows about one event type, read once from its attributes: aggregate and event type, where
/// the aggregate id and idempotency key are, and which members must not be null.
/// </summary>
internal sealed class OutboxEventDescriptor
{
    private static readonly SearchValues<char> s_topicChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    private readonly string? _typeError;
    private readonly PropertyInfo? _aggregateId;
    private readonly PropertyInfo? _idempotencyKey;
    private readonly PropertyInfo[] _notNull;

    private OutboxEventDescriptor(Type type)
    {
        ClrType = type;
        _notNull = [];
        var attribute = type.GetCustomAttribute<OutboxEventAttribute>(inherit: false);
        if (attribute is null)
        {
            _typeError = $"the type has no [{nameof(OutboxEventAttribute).Replace("Attribute", "", StringComparison.Ordinal)}(aggregateType, eventType)] attribute";
            return;
        }

        AggregateType = attribute.AggregateType;
        EventType = attribute.EventType;
        _typeError = CheckName("aggregate type", AggregateType, OutboxLimits.MaxAggregateTypeLength)
            ?? CheckName("event type", EventType, OutboxLimits.MaxEventTypeLength);

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is not null)
            .ToArray();
        var ids = properties.Where(p => p.IsDefined(typeof(AggregateIdAttribute), inherit: true)).ToArray();
        if (ids.Length != 1)
            _typeError ??= ids.Length == 0
                ? "no property has the [AggregateId] attribute"
                : $"several properties have the [AggregateId] attribute ({string.Join(", ", ids.Select(p => p.Name))}); one is allowed";
        else
            _aggregateId = ids[0];

        var keys = properties.Where(p => p.IsDefined(typeof(IdempotencyKeyAttribute), inherit: true)).ToArray();
        if (keys.Length > 1)
            _typeError ??= $"several properties have the [IdempotencyKey] attribute ({string.Join(", ", keys.Select(p => p.Name))}); one is allowed";
        else if (keys.Length == 1)
            _idempotencyKey = keys[0];

        _notNull = NotNullMembers(properties);
        HasDataAnnotations = typeof(IValidatableObject).IsAssignableFrom(type)
            || type.IsDefined(typeof(ValidationAttribute), inherit: true)
            || properties.Any(p => p.IsDefined(typeof(ValidationAttribute), inherit: true));
    }

    public Type ClrType { get; }

    public string AggregateType { get; } = "";

    public string EventType { get; } = "";

    /// <summary>Whether DataAnnotations' validator has anything to check (it is skipped otherwise: it is not free).</summary>
    public bool HasDataAnnotations { get; }

    /// <summary>The descriptor of <paramref name="type"/>, built once per type.</summary>
    public static OutboxEventDescriptor For(Type type) =>
        (OutboxEventDescriptor)typeof(Holder<>).MakeGenericType(type).GetField(nameof(Holder<object>.Value))!.GetValue(null)!;

    /// <summary>The descriptor of <typeparamref name="T"/> without reflection.</summary>
    public static OutboxEventDescriptor For<T>() => Holder<T>.Value;

    public void ThrowIfTypeInvalid()
    {
        if (_typeError is not null)
            throw new OutboxEventValidationException(ClrType, memberName: null, _typeError);
    }

    /// <summary>Members declared <c>required</c> or non-nullable that hold null, e.g. after deserialization.</summary>
    public void CheckNotNullMembers(object instance)
    {
        foreach (var property in _notNull)
            if (property.GetValue(instance) is null)
                throw new OutboxEventValidationException(ClrType, property.Name, "is required (declared required or non-nullable) but is null");
    }

    public string AggregateIdOf(object instance)
    {
        var value = _aggregateId!.GetValue(instance);
        var text = value switch
        {
            null => null,
            string s => s,
            Guid g => g.ToString("D"),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
        if (string.IsNullOrWhiteSpace(text))
            throw new OutboxEventValidationException(ClrType, _aggregateId.Name, "the aggregate id is null or blank");
        if (text.Length > OutboxLimits.MaxAggregateIdLength)
            throw new OutboxEventValidationException(ClrType, _aggregateId.Name,
                $"the aggregate id is {text.Length} characters long; at most {OutboxLimits.MaxAggregateIdLength} are allowed");
        return text;
    }

    public string? IdempotencyKeyOf(object instance) =>
        _idempotencyKey?.GetValue(instance) switch
        {
            null => null,
            string s => s,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var other => other.ToString(),
        };

    /// <summary>The name of the property the idempotency key comes from, for error messages.</summary>
    public string IdempotencyKeyMember => _idempotencyKey?.Name ?? nameof(OutboxEventEntry.IdempotencyKey);

    private static string? CheckName(string what, string value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
            return $"the {what} is empty";
        if (value.Length > maxLength)
            return $"the {what} '{value}' is {value.Length} characters long; at most {maxLength} are allowed (it becomes part of a Kafka topic name)";
        var bad = value.AsSpan().IndexOfAnyExcept(s_topicChars);
        return bad >= 0
            ? $"the {what} '{value}' contains '{value[bad]}'; only ASCII letters, digits, '.', '_' and '-' are allowed (Kafka topic names)"
            : null;
    }

    /// <summary>
    /// Reference-type properties that must hold a value: declared non-nullable (nullable context on), or declared
    /// <c>required</c> where no nullable annotation exists. A <c>required string?</c> may be null.
    /// </summary>
    private static PropertyInfo[] NotNullMembers(PropertyInfo[] properties)
    {
        var nullability = new NullabilityInfoContext();
        return properties
            .Where(p => !p.PropertyType.IsValueType)
            .Where(p => nullability.Create(p).ReadState switch
            {
                NullabilityState.NotNull => true,
                NullabilityState.Unknown => p.IsDefined(typeof(RequiredMemberAttribute), inherit: true),
                _ => false,
            })
            .ToArray();
    }

    private static class Holder<T>
    {
        // Built by the runtime once per type and never changed: type metadata, not state.
        public static readonly OutboxEventDescriptor Value = new(typeof(T));
    }
}

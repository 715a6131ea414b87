namespace Atlas.Cdc.Outbox;

/// <summary>
/// An outbox event was rejected before anything was written: a failed DataAnnotations or <c>required</c> check,
/// a missing or over-long aggregate id, an over-long idempotency key, a bad header, or a payload that could not
/// be serialized. The caller's transaction is untouched: rolling it back or going on is the caller's choice.
/// </summary>
public sealed class OutboxEventValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="eventClrType">The .NET type of the rejected event.</param>
    /// <param name="memberName">The member (property, JSON path or header) at fault, or null when the type itself is.</param>
    /// <param name="reason">What is wrong, in a sentence.</param>
    /// <param name="innerException">The error that caused it, e.g. from the JSON serializer.</param>
    public OutboxEventValidationException(Type eventClrType, string? memberName, string reason, Exception? innerException = null)
        : base(Describe(eventClrType, memberName, reason), innerException)
    {
        EventClrType = eventClrType;
        MemberName = memberName;
        Reason = reason;
    }

    /// <summary>The .NET type of the rejected event.</summary>
    public Type EventClrType { get; }

    /// <summary>The member at fault (a property name, a JSON path such as <c>$.Lines[2]</c>, or <c>headers['x']</c>), or null.</summary>
    public string? MemberName { get; }

    /// <summary>What is wrong, without the type and member.</summary>
    public string Reason { get; }

    private static string Describe(Type type, string? member, string reason) =>
        member is null
            ? $"Outbox event {type.FullName} was not written: {reason}"
            : $"Outbox event {type.FullName} was not written: {member}: {reason}";
}

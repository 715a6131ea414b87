namespace Atlas.Cdc.Outbox;

/// <summary>
/// Marks an optional property whose value is the event's idempotency key: a second event with the same key is
/// not written, and the result says it was a duplicate. Use a value that is the same when a handler is retried
/// or a button clicked twice (e.g. the command's id). Null means no key. Keys are kept as long as the row is
/// (the relay's <c>Cdc:Retention:Age</c>), which is therefore the de-duplication window.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class IdempotencyKeyAttribute : Attribute
{
}

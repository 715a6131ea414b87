namespace Atlas.Cdc.Schemas;

/// <summary>A registry request failed in a way that may pass (unreachable, timeout, 5xx, auth): retry, never refuse the event.</summary>
internal sealed class RegistryUnavailableException(string message, Exception inner) : Exception(message, inner);

namespace Atlas.Cdc;

/// <summary>
/// A problem no retry can fix (wrong wal_level, missing table or publication, bad credentials, slot of another
/// plugin...). The relay logs the message once and exits non-zero instead of looping.
/// </summary>
public sealed class FatalConfigurationException(string message, Exception? innerException = null)
    : Exception(message, innerException);

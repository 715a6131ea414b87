namespace Atlas.Cdc.Sandbox;

/// <summary>A handle returned by <see cref="ExitCleanup.Register"/>; disposing it unregisters the action.</summary>
internal sealed class ExitCleanupRegistration(long id) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => ExitCleanup.Unregister(id);
}

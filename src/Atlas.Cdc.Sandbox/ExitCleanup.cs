using System.Collections.Concurrent;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Runs registered cleanup actions when the process exits normally or on SIGTERM/Ctrl+C, so a test run that
/// forgets to dispose (or is interrupted) leaves no PostgreSQL server or kcat process behind.
/// </summary>
internal static class ExitCleanup
{
    private static readonly ConcurrentDictionary<long, Action> _actions = new();
    private static long _nextId;

    static ExitCleanup()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RunAll();
    }

    /// <summary>Registers <paramref name="action"/>; disposing the result unregisters it without running it.</summary>
    public static IDisposable Register(Action action)
    {
        var id = Interlocked.Increment(ref _nextId);
        _actions[id] = action;
        return new ExitCleanupRegistration(id);
    }

    private static void RunAll()
    {
        foreach (var id in _actions.Keys.ToList())
        {
            if (_actions.TryRemove(id, out var action))
            {
                try
                {
                    action();
                }
                catch (Exception ex)
                {
                    // One failed cleanup must not stop the others; stderr is all that is left at exit.
                    Console.Error.WriteLine($"Atlas.Cdc.Sandbox: cleanup at exit failed: {ex.Message}");
                }
            }
        }
    }

    /// <summary>Removes a registered action without running it.</summary>
    internal static void Unregister(long id) => _actions.TryRemove(id, out _);
}

using System.Collections.Concurrent;
using System.Diagnostics;

namespace Atlas.Cdc.Benchmarks;

/// <summary>Children this run started; killed if the benchmark itself is interrupted (Ctrl+C, exceptions), so none outlives it.</summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> s_running = new();

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    public static void Track(Process process) => s_running[process.Id] = process;

    public static void Forget(Process process) => s_running.TryRemove(process.Id, out _);

    private static void KillAll()
    {
        foreach (var process in s_running.Values)
        {
            try
            {
                if (!process.HasExited)
                    process.Kill();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }
}

using System.Diagnostics;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// A <c>setsid sh</c> process blocked reading a pipe whose only writer is this process. The kernel closes the
/// pipe when this process dies, however it dies (SIGKILL included, and SIGTERM, which .NET 10 no longer turns
/// into ProcessExit), and the watchdog then runs its cleanup script. Its own session keeps it out of
/// process-group kills aimed at us (timeout(1), Ctrl+C in a terminal). Kill it once the cleanup is not needed.
/// </summary>
internal static class DeathWatchdog
{
    /// <summary>Starts a watchdog that runs <paramref name="script"/> (POSIX sh, with "$@" = <paramref name="arguments"/>) when this process dies.</summary>
    public static Process Start(string name, string script, IEnumerable<string> arguments)
    {
        var startInfo = ProcessRunner.CreateStartInfo(
            "setsid",
            ["sh", "-c", "exec >/dev/null 2>&1; trap '' HUP INT QUIT TERM; read -r _ignored; " + script, name, .. arguments],
            workingDirectory: "/");
        return ProcessRunner.Start(startInfo, ProcessRunner.Describe(startInfo));
    }

    /// <summary>Kills a watchdog without running its script; null is ignored.</summary>
    public static void Stop(Process? watchdog)
    {
        if (watchdog is not null)
        {
            ProcessRunner.Kill(watchdog);
            watchdog.Dispose();
        }
    }
}

using System.Runtime.InteropServices;

namespace Atlas.Cdc.Sandbox;

/// <summary>POSIX signals sent to a process by id (libc <c>kill</c>): SIGTERM for a clean stop, SIGSTOP/SIGCONT to freeze one.</summary>
public static partial class ProcessSignals
{
    /// <summary>SIGTERM: the relay drains and exits 0.</summary>
    public const int Terminate = 15;

    /// <summary>SIGSTOP: the process is frozen, as by a stalled VM.</summary>
    public const int Stop = 19;

    /// <summary>SIGCONT: a frozen process runs again.</summary>
    public const int Continue = 18;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; throws with errno when the kernel refuses.</summary>
    /// <param name="pid">Process id.</param>
    /// <param name="signal">Signal number, e.g. <see cref="Terminate"/>.</param>
    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
            throw new InvalidOperationException($"kill({signal}) failed for pid {pid}: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

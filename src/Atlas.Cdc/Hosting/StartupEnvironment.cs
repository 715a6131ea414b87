using System.Runtime.InteropServices;
using System.Text;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Adds environment variables that only take effect before any managed code runs (the GC's gen0 budget, glibc's
/// malloc settings) by replacing the process once at start with <c>execve</c>: the same process id, executable,
/// arguments and open descriptors, and the environment plus those variables.
/// </summary>
/// <remarks>
/// Both are read once, when the runtime starts or at the first <c>malloc</c>; by <c>Main</c> the runtime has started
/// and its own threads have each made a malloc arena of their own, so a <c>mallopt</c> from <c>Main</c> can no longer cap
/// the arenas at two (docs/benchmarks.md, "Second round, part ten"). The second start costs about 0.03 s of CPU.
/// Not Linux, or no <c>/proc/self</c>, or <c>execve</c> failed: the relay carries on as it was started.
/// </remarks>
internal static unsafe class StartupEnvironment
{
    /// <summary>
    /// Returns when nothing is missing (or the process cannot be replaced); otherwise replaces the process and does
    /// not return. Call first thing in Main, before any thread of the relay's own starts.
    /// </summary>
    public static void CompleteByReexecuting(IReadOnlyCollection<KeyValuePair<string, string>> missing)
    {
        if (!OperatingSystem.IsLinux() || missing.Count == 0)
            return;
        string executable;
        string[] arguments;
        try
        {
            // The executable's own path, not /proc/self/exe: the kernel names the process after the file, and ps,
            // top and pgrep would show "exe" instead of "dotnet".
            executable = new FileInfo("/proc/self/exe").LinkTarget ?? "/proc/self/exe";
            arguments = ReadCommandLine();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        if (arguments.Length == 0
            || !NativeLibrary.TryLoad("libc.so.6", out var libc) || !NativeLibrary.TryGetExport(libc, "execve", out var export))
            return;

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            environment[(string)entry.Key] = (string?)entry.Value ?? "";
        // Replaced, not appended: a variable set but empty (MALLOC_ARENA_MAX=) would otherwise appear twice.
        foreach (var (name, value) in missing)
            environment[name] = value;
        var path = Marshal.StringToCoTaskMemUTF8(executable);
        var argv = ToNative(arguments);
        var envp = ToNative(environment.Select(variable => $"{variable.Key}={variable.Value}").ToList());
        // Returns only on failure (the image could not be loaded).
        fixed (IntPtr* argvPointer = argv)
        fixed (IntPtr* envpPointer = envp)
            _ = ((delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, int>)export)(path, argvPointer, envpPointer);
        foreach (var pointer in argv.Concat(envp).Append(path))
            Marshal.FreeCoTaskMem(pointer);
    }

    /// <summary>A NULL-terminated array of NUL-terminated UTF-8 strings, as execve takes them.</summary>
    private static IntPtr[] ToNative(IReadOnlyList<string> texts)
    {
        var pointers = new IntPtr[texts.Count + 1];
        for (var i = 0; i < texts.Count; i++)
            pointers[i] = Marshal.StringToCoTaskMemUTF8(texts[i]);
        return pointers;
    }

    /// <summary>The process's own argv as the kernel holds it: for <c>dotnet out/Atlas.Cdc.dll run</c> all three words.</summary>
    private static string[] ReadCommandLine()
    {
        var text = Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline"));
        // Every argument ends with a NUL; an empty argument is an empty string between two of them.
        return text.Length == 0 ? [] : text[..^1].Split('\0');
    }
}

using System.Runtime.InteropServices;
using System.Text;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Gives the relay a 4 MiB gen0 allocation budget (<c>DOTNET_GCgen0size=0x400000</c>) instead of the runtime's
/// default, which it derives from the CPU's cache (a largest gen0 budget of 52 MiB on the benchmark's machine,
/// 6 MiB with this setting). The runtime reads this knob from the environment only, before any managed code runs:
/// no runtimeconfig name sets it (three were tried, docs/benchmarks.md). So when the variable is unset, the relay
/// sets it and replaces itself once at start with <c>execve</c>: the same process id, arguments, open descriptors
/// and environment plus this one variable.
/// </summary>
/// <remarks>
/// Why: a 500,000-event transaction peaked at 155-172 MiB of resident memory with the default budget and at
/// 114-125 MiB with this one, at the same CPU (docs/benchmarks.md, "Second round, part six"). Events stay alive
/// from decoding until Kafka acknowledges them, so a larger gen0 promotes more of them and the older generations
/// grow with them. An operator's own <c>DOTNET_GCgen0size</c> (or <c>COMPlus_GCgen0size</c>) wins, and setting it
/// to 0 keeps the runtime's default. Not Linux, or no <c>/proc/self</c>: nothing is changed. The re-execution
/// costs one more runtime start (about 0.03 s of CPU, measured).
/// </remarks>
internal static unsafe class Gen0Budget
{
    public const string Variable = "DOTNET_GCgen0size";
    public const string Value = "0x400000";
    private const string LegacyVariable = "COMPlus_GCgen0size";

    /// <summary>
    /// Returns when the budget is already decided (set by the environment, or not Linux); otherwise replaces the
    /// process and does not return. Call first thing in Main, before any thread of the relay's own starts.
    /// </summary>
    public static void ApplyByReexecuting()
    {
        if (!OperatingSystem.IsLinux() || IsSet(Variable) || IsSet(LegacyVariable))
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

        var environment = new List<string>();
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            environment.Add($"{entry.Key}={entry.Value}");
        environment.Add($"{Variable}={Value}");
        var path = Marshal.StringToCoTaskMemUTF8(executable);
        var argv = ToNative(arguments);
        var envp = ToNative(environment);
        // Returns only on failure (the image could not be loaded): the relay then carries on with the default budget.
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

    /// <summary>The budget the GC runs with (its largest gen0 budget, in KiB), for the start-up log.</summary>
    public static string Outcome
    {
        get
        {
            var budget = GC.GetConfigurationVariables().TryGetValue("GCGen0MaxBudget", out var value) && value is long bytes
                ? $"{bytes / 1024} KiB"
                : "unknown";
            return $"GC gen0 budget at most {budget} ({Variable}={Environment.GetEnvironmentVariable(Variable) ?? "unset"})";
        }
    }

    private static bool IsSet(string variable) => Environment.GetEnvironmentVariable(variable) is not null;

    /// <summary>The process's own argv as the kernel holds it: for <c>dotnet out/Atlas.Cdc.dll run</c> all three words.</summary>
    private static string[] ReadCommandLine()
    {
        var text = Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline"));
        // Every argument ends with a NUL; an empty argument is an empty string between two of them.
        return text.Length == 0 ? [] : text[..^1].Split('\0');
    }
}

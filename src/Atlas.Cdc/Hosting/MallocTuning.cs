using System.Globalization;
using System.Runtime.InteropServices;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// Fixes glibc malloc's settings for the process, before librdkafka allocates: blocks up to 4 MiB come from the
/// heap (not a fresh mmap each time), an arena returns its free top to the OS once it exceeds 256 KiB, and there are
/// at most 2 arenas.
/// </summary>
/// <remarks>
/// Why: librdkafka copies every message, and its produce buffers are large. glibc raises both thresholds by itself
/// when a large block is freed (trim up to 64 MiB), after which the per-thread arenas that hold librdkafka's copies
/// stop giving memory back: a 500,000-event transaction left 60-85 MiB anonymous behind, 47-58 MiB with these
/// values (docs/benchmarks.md, "Second round, part four"). glibc also gives each new thread an arena of its own (up
/// to 8 per core): the publishing loop moves between thread-pool workers, so librdkafka's copies spread over several
/// arenas, each keeping its own free memory (part eight).
/// The three are set as glibc's environment variables, added at start by <see cref="StartupEnvironment"/>: glibc
/// reads them at the first <c>malloc</c>. A <c>mallopt</c> from <c>Main</c> sets the thresholds as well but comes too late
/// for the cap, since the runtime's own threads have made five arenas by then; so it is only the fallback when the
/// process could not be replaced (part ten).
/// An operator's own <c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c>, <c>MALLOC_ARENA_MAX</c> or
/// <c>GLIBC_TUNABLES</c> wins: then nothing is changed. Not glibc (musl, macOS): nothing is changed.
/// </remarks>
internal static unsafe class MallocTuning
{
    public const int MmapThreshold = 4 * 1024 * 1024;
    public const int TrimThreshold = 256 * 1024;
    public const int ArenaMax = 2;
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_THRESHOLD = -3;
    private const int M_ARENA_MAX = -8;

    /// <summary>The operator's own malloc settings: when any of them is set, the relay changes nothing.</summary>
    internal static readonly string[] OperatorVariables = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES"];

    /// <summary>The relay's values as glibc's environment variables.</summary>
    internal static readonly IReadOnlyList<KeyValuePair<string, string>> Variables =
    [
        new("MALLOC_MMAP_THRESHOLD_", MmapThreshold.ToString(CultureInfo.InvariantCulture)),
        new("MALLOC_TRIM_THRESHOLD_", TrimThreshold.ToString(CultureInfo.InvariantCulture)),
        new("MALLOC_ARENA_MAX", ArenaMax.ToString(CultureInfo.InvariantCulture)),
    ];

    private static readonly Lazy<string> s_outcome = new(Apply);

    /// <summary>Applies the thresholds once per process (the first call) and says what was done, for the start-up log.</summary>
    public static string Outcome => s_outcome.Value;

    /// <summary>The variables to add at start: all three on glibc when the operator set none of <see cref="OperatorVariables"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> VariablesToAdd() => VariablesToAdd(Environment.GetEnvironmentVariable, IsGlibc());

    internal static IReadOnlyList<KeyValuePair<string, string>> VariablesToAdd(Func<string, string?> environment, bool glibc) =>
        glibc && OperatorVariables.All(name => string.IsNullOrEmpty(environment(name))) ? Variables : [];

    private static string Apply()
    {
        if (!OperatingSystem.IsLinux())
            return "not Linux: malloc left as it is";
        if (Variables.All(v => Environment.GetEnvironmentVariable(v.Key) == v.Value)
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GLIBC_TUNABLES")) && IsGlibc())
            return $"glibc malloc: mmap threshold {MmapThreshold / 1024 / 1024} MiB, trim threshold {TrimThreshold / 1024} KiB, at most {ArenaMax} arenas (environment)";
        foreach (var variable in OperatorVariables)
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
                return $"{variable} is set: malloc left as the environment says";
        }
        if (!TryLoadGlibc(out var libc) || !NativeLibrary.TryGetExport(libc, "mallopt", out var export))
            return "not glibc: malloc left as it is";
        // The process was not replaced with the variables: mallopt sets the thresholds, and the cap stops glibc
        // making arenas beyond those the runtime's threads already have.
        var mallopt = (delegate* unmanaged<int, int, int>)export;
        return mallopt(M_MMAP_THRESHOLD, MmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, TrimThreshold) == 1
               && mallopt(M_ARENA_MAX, ArenaMax) == 1
            ? $"glibc malloc: mmap threshold {MmapThreshold / 1024 / 1024} MiB, trim threshold {TrimThreshold / 1024} KiB, no arenas beyond those already made (mallopt)"
            : "glibc refused the malloc settings: left as they were";
    }

    private static bool IsGlibc() => TryLoadGlibc(out _);

    // gnu_get_libc_version exists in glibc only: musl would accept and ignore these settings.
    private static bool TryLoadGlibc(out IntPtr libc)
    {
        libc = IntPtr.Zero;
        return OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out libc) && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _);
    }
}

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// The memory settings docs/operations.md ("Memory") documents for deployments, and the image (Dockerfile ENV) sets. The relay
/// never sets them itself: a relay started as docs/operations.md says (<c>dotnet out/Atlas.Cdc.dll</c>) runs without them.
/// </summary>
internal static class MemorySettings
{
    /// <summary>The image's four variables, with the Dockerfile's values.</summary>
    public static readonly IReadOnlyDictionary<string, string> Image = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DOTNET_GCgen0size"] = "0x400000",
        ["MALLOC_MMAP_THRESHOLD_"] = "4194304",
        ["MALLOC_TRIM_THRESHOLD_"] = "262144",
        ["MALLOC_ARENA_MAX"] = "2",
    };

    /// <summary>
    /// Removes from this process's environment (which every relay inherits) the variables that tune the GC or glibc's
    /// malloc, so that no relay gets them unless a scenario passes them on purpose. Returns the names removed.
    /// </summary>
    public static IReadOnlyList<string> RemoveInherited()
    {
        var removed = new List<string>();
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Order(StringComparer.Ordinal))
        {
            if (name.StartsWith("DOTNET_GC", StringComparison.OrdinalIgnoreCase) || name.StartsWith("COMPlus_GC", StringComparison.OrdinalIgnoreCase) ||
                name.StartsWith("MALLOC_", StringComparison.Ordinal) || name == "GLIBC_TUNABLES")
            {
                Environment.SetEnvironmentVariable(name, null);
                removed.Add(name);
            }
        }
        return removed;
    }
}

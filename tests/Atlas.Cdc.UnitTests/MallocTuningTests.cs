using System.Runtime.InteropServices;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

public class MallocTuningTests
{
    [Fact]
    public void On_glibc_without_the_operators_own_settings_the_thresholds_and_the_arena_cap_are_fixed()
    {
        var glibc = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc)
            && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _);
        var operatorSettings = MallocTuning.OperatorVariables.Any(name => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)));

        var outcome = MallocTuning.Outcome;

        if (glibc && !operatorSettings)
            Assert.Equal("glibc malloc: mmap threshold 4 MiB, trim threshold 256 KiB, at most 2 arenas", outcome);
        else
            Assert.Contains("left as", outcome, StringComparison.Ordinal);
    }
}

using System.Runtime.InteropServices;
using Atlas.Cdc.Hosting;

namespace Atlas.Cdc.UnitTests;

public class MallocTuningTests
{
    [Fact]
    public void In_a_process_started_without_the_variables_mallopt_sets_the_thresholds_and_stops_new_arenas()
    {
        var glibc = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc)
            && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _);
        var operatorSettings = MallocTuning.OperatorVariables.Any(name => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)));

        var outcome = MallocTuning.Outcome;

        if (glibc && !operatorSettings)
            Assert.Equal("glibc malloc: mmap threshold 4 MiB, trim threshold 256 KiB, no arenas beyond those already made (mallopt)", outcome);
        else
            Assert.Contains("left as", outcome, StringComparison.Ordinal);
    }

    [Fact]
    public void On_glibc_all_three_variables_are_added_when_the_operator_set_none()
    {
        var added = MallocTuning.VariablesToAdd(_ => null, glibc: true);

        Assert.Equal(["MALLOC_MMAP_THRESHOLD_=4194304", "MALLOC_TRIM_THRESHOLD_=262144", "MALLOC_ARENA_MAX=2"],
            added.Select(v => $"{v.Key}={v.Value}"));
    }

    [Theory]
    [InlineData("MALLOC_ARENA_MAX", "8")]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "131072")]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")]
    public void Any_setting_of_the_operator_s_own_leaves_malloc_alone(string name, string value)
    {
        Assert.Empty(MallocTuning.VariablesToAdd(variable => variable == name ? value : null, glibc: true));
    }

    [Fact]
    public void Not_glibc_adds_nothing()
    {
        Assert.Empty(MallocTuning.VariablesToAdd(_ => null, glibc: false));
    }
}

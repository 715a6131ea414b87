using System.Runtime.InteropServices;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// The relay as it ships: <c>dotnet publish -c Release -r RID</c> (ReadyToRun, see Atlas.Cdc.csproj) into
/// artifacts/bench/relay, so the benchmark measures the precompiled build a container would run.
/// </summary>
internal static class RelayBuild
{
    public static async Task<string> PublishAsync()
    {
        var output = Path.Combine(RepositoryPaths.Root, "artifacts", "bench", "relay");
        var project = Path.Combine(RepositoryPaths.Root, "src", "Atlas.Cdc", "Atlas.Cdc.csproj");
        (await ExternalCommand.RunAsync("dotnet",
            ["publish", project, "-c", "Release", "-r", RuntimeInformation.RuntimeIdentifier, "--self-contained", "false",
             "-o", output, "--nologo", "-v", "quiet"],
            TimeSpan.FromMinutes(5))).EnsureSuccess();
        return Path.Combine(output, "Atlas.Cdc.dll");
    }
}

namespace Atlas.Cdc.IntegrationTests;

/// <summary>The relay runs on the librdkafka of its own NuGet package (2.16), never on the OS's librdkafka1.</summary>
[Collection(CdcCollection.Name)]
public class NativeLibraryTests(CdcEnvironment environment)
{
    [Fact]
    public async Task Running_relay_maps_librdkafka_from_its_own_package_and_not_the_os_library()
    {
        await using var scenario = await environment.CreateScenarioAsync("native");
        await using var relay = await scenario.StartReadyRelayAsync();

        var mapped = File.ReadLines($"/proc/{relay.ProcessId}/maps")
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? line[slash..] : "")
            .Where(path => path.Contains("librdkafka", StringComparison.Ordinal))
            .Distinct()
            .ToList();

        var library = Assert.Single(mapped);
        Assert.StartsWith(Path.GetDirectoryName(RelayProcessAssembly())!, library);
        Assert.Contains("/runtimes/linux-x64/native/", library);
        Assert.Contains("librdkafka 2.16.", relay.Output);
    }

    [Fact]
    public void Test_process_and_mock_cluster_share_the_library_confluent_kafka_loaded()
    {
        using var cluster = Sandbox.MockKafkaCluster.Start();
        Assert.StartsWith("2.16.", Confluent.Kafka.Library.VersionString);
        var mapped = File.ReadLines("/proc/self/maps").Where(l => l.Contains("librdkafka", StringComparison.Ordinal))
            .Select(l => l[l.IndexOf('/', StringComparison.Ordinal)..]).Distinct().ToList();
        Assert.True(mapped.Count == 1, $"expected one librdkafka in the test process (mock cluster and producers), saw: {string.Join(", ", mapped)}");
        Assert.Contains("/runtimes/linux-x64/native/", mapped[0]);
    }

    private static string RelayProcessAssembly() => Sandbox.RelayProcess.DefaultAssemblyPath;
}

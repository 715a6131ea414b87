using System.Text.RegularExpressions;
using Atlas.Cdc.Publishing;

namespace Atlas.Cdc.UnitTests.Architecture;

/// <summary>
/// The relay's folders follow its data path: a folder uses only earlier steps and shared types, never the other
/// way, directly or around a circle; and each file's namespace is its folder's.
/// </summary>
public partial class ArchitectureTests
{
    private const string Root = "Atlas.Cdc";

    private static readonly Dictionary<string, Dictionary<string, string>> s_graph =
        FolderDependencies.Read(typeof(KafkaPublisher).Assembly.Location, Root);

    [Fact]
    public void No_two_folders_of_the_relay_use_each_other_directly_or_around_a_circle()
    {
        var cycle = FolderDependencies.FindCycle(s_graph);
        Assert.True(cycle is null, $"folders use each other around a circle: {cycle}");
    }

    [Fact]
    public void No_two_folders_of_the_relay_name_each_other_in_using_lines_directly_or_around_a_circle()
    {
        // The compiled graph misses a using that only a doc comment needs; a reader of the using lines does not.
        var source = Path.Combine(RepositoryRoot(), "src", "Atlas.Cdc");
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var file in SourceFiles(source))
        {
            var text = File.ReadAllText(file);
            if (NamespaceDeclaration().Match(text) is not { Success: true } declared)
                continue;
            var from = declared.Groups[1].Value;
            var uses = graph.TryGetValue(from, out var existing) ? existing : graph[from] = new(StringComparer.Ordinal);
            foreach (Match line in UsingLine().Matches(text))
            {
                var to = line.Groups[1].Value;
                // Atlas.Cdc.Outbox is the writer library's namespace, not a folder of the relay.
                if (to != from && to != $"{Root}.Outbox")
                    uses.TryAdd(to, $"{Path.GetRelativePath(source, file)}: using {to};");
            }
        }
        var cycle = FolderDependencies.FindCycle(graph);
        Assert.True(cycle is null, $"folders name each other in using lines around a circle: {cycle}");
    }

    [Fact]
    public void Each_file_s_namespace_is_its_folder_s()
    {
        var source = Path.Combine(RepositoryRoot(), "src", "Atlas.Cdc");
        var wrong = new List<string>();
        foreach (var file in SourceFiles(source))
        {
            var relative = Path.GetRelativePath(source, file);
            var folder = Path.GetDirectoryName(relative)!;
            var expected = folder.Length == 0 ? Root : $"{Root}.{folder.Replace(Path.DirectorySeparatorChar, '.')}";
            var declared = NamespaceDeclaration().Match(File.ReadAllText(file));
            if (relative == "Program.cs" && !declared.Success)
                continue; // top-level statements
            if (!declared.Success || declared.Groups[1].Value != expected)
                wrong.Add($"{relative}: namespace {(declared.Success ? declared.Groups[1].Value : "(none)")}, folder says {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void The_relay_s_namespaces_do_not_clash_with_the_writer_library_s()
    {
        Assert.DoesNotContain($"{Root}.Outbox", s_graph.Keys);
    }

    [Fact]
    public void The_folder_graph_sees_a_use_that_only_a_method_body_makes()
    {
        // Hosting composes every step: if the reader missed method bodies, this would be empty.
        Assert.Contains($"{Root}.Publishing", s_graph[$"{Root}.Hosting"].Keys);
    }

    private static IEnumerable<string> SourceFiles(string source) =>
        Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(file => Path.GetRelativePath(source, file) is var relative
                           && !relative.StartsWith("obj", StringComparison.Ordinal) && !relative.StartsWith("bin", StringComparison.Ordinal));

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atlas.Cdc.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException($"no Atlas.Cdc.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"^using\s+(Atlas\.Cdc(?:\.[\w.]+)?)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingLine();
}

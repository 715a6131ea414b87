using System.Reflection;
using System.Runtime.InteropServices;
using Atlas.Cdc.Outbox;
using Atlas.Cdc.Outbox.EntityFrameworkCore;
using Atlas.Cdc.Sandbox;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.EntityFrameworkCore;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The C# in the guides compiles as written, with Roslyn, against what the guide's reader installs.
/// <para>
/// The convention, which the guides follow: every <c>```csharp</c> block is a whole C# file. It has its own
/// <c>using</c> lines (no implicit usings: a reader who copies the block gets every namespace it needs) and no
/// top-level statements (code that runs sits in a method). All the blocks of one guide are compiled together into
/// one library, so a block may use a type that another block of the same guide declares, as the guide's prose does
/// (the event type, the DbContext). Warnings fail the test as errors do (nullable annotations on). There is no
/// marker for a block that must not compile: a fragment that is not a whole file is not written as a csharp block.
/// </para>
/// <para>
/// References: the .NET shared framework, and the named assemblies with everything they reference, never the relay.
/// docs/application-teams.md is built against the writer library's two packages and what they bring (Npgsql, EF
/// Core, the Npgsql EF Core provider), at C# 12, the language of net8.0, the oldest framework the writer targets;
/// docs/consuming.md against Confluent.Kafka and Confluent's Avro serdes (which bring the registry client and Apache.Avro).
/// </para>
/// </summary>
public class DocumentationSnippetTests
{
    [Fact]
    public void Every_csharp_block_of_the_application_teams_guide_compiles_against_the_writer_library()
    {
        var errors = Compile(
            Path.Combine("docs", "application-teams.md"),
            minimumBlocks: 5,
            LanguageVersion.CSharp12,
            typeof(OutboxWriteOptions).Assembly,
            typeof(OutboxDbContextExtensions).Assembly,
            typeof(NpgsqlDbContextOptionsBuilderExtensions).Assembly);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void Every_csharp_block_of_the_consuming_guide_compiles_against_Confluent_Kafka_and_its_Avro_serdes()
    {
        var errors = Compile(
            Path.Combine("docs", "consuming.md"),
            minimumBlocks: 2,
            LanguageVersion.Latest,
            typeof(Confluent.Kafka.IConsumer<,>).Assembly,
            typeof(Confluent.SchemaRegistry.Serdes.AvroDeserializer<>).Assembly);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void A_block_without_a_using_line_it_needs_does_not_compile()
    {
        // The test above would pass vacuously if implicit usings or a lenient reference set crept in.
        var block = new CodeBlock(1, """
            public static class Setup
            {
                public static void Configure(Microsoft.EntityFrameworkCore.DbContextOptionsBuilder builder) => builder.UseAtlasOutbox();
            }
            """);
        var errors = Diagnose("missing-using.md", [block], LanguageVersion.CSharp12, [typeof(OutboxDbContextExtensions).Assembly]);
        Assert.Contains(errors, e => e.Contains("CS1061", StringComparison.Ordinal) && e.Contains("UseAtlasOutbox", StringComparison.Ordinal));
    }

    private static List<string> Compile(string guide, int minimumBlocks, LanguageVersion language, params Assembly[] packages)
    {
        var blocks = CodeBlocks(File.ReadAllLines(Path.Combine(RepositoryPaths.Root, guide)));
        Assert.True(blocks.Count >= minimumBlocks, $"{guide} has {blocks.Count} csharp blocks; at least {minimumBlocks} were expected");
        return Diagnose(guide, blocks, language, packages);
    }

    private static List<string> Diagnose(string guide, IReadOnlyList<CodeBlock> blocks, LanguageVersion language, Assembly[] packages)
    {
        var parseOptions = new CSharpParseOptions(language);
        var trees = blocks.Select(b => CSharpSyntaxTree.ParseText(b.Code, parseOptions, path: $"{guide}:{b.FirstLine}")).ToList();
        var compilation = CSharpCompilation.Create(
            "Snippets",
            trees,
            References(packages),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
                .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
                {
                    // Assembly version unification between the shared framework and packages, as the SDK suppresses it.
                    ["CS1701"] = ReportDiagnostic.Suppress,
                    ["CS1702"] = ReportDiagnostic.Suppress,
                }));
        return compilation.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Select(d =>
            {
                var span = d.Location.GetLineSpan();
                var block = blocks[trees.FindIndex(t => t.FilePath == span.Path)];
                return $"{guide} line {block.FirstLine + span.StartLinePosition.Line}: {d.Id} {d.GetMessage()}";
            })
            .ToList();
    }

    /// <summary>The shared framework, plus the given assemblies and every assembly they reference, transitively.</summary>
    private static List<MetadataReference> References(Assembly[] packages)
    {
        var runtimeDirectory = RuntimeEnvironment.GetRuntimeDirectory();
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.StartsWith(runtimeDirectory, StringComparison.Ordinal) && p.EndsWith(".dll", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>(packages);
        while (pending.TryDequeue(out var assembly))
        {
            if (!seen.Add(assembly.GetName().Name!))
                continue;
            paths.Add(assembly.Location);
            foreach (var name in assembly.GetReferencedAssemblies())
            {
                if (seen.Contains(name.Name!))
                    continue;
                try
                {
                    pending.Enqueue(Assembly.Load(name));
                }
                catch (FileNotFoundException)
                {
                    // A reference the package never loads on this framework (e.g. a netstandard-only facade).
                }
            }
        }
        Assert.DoesNotContain(paths, p => Path.GetFileName(p) == "Atlas.Cdc.dll");
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }

    /// <summary>The csharp blocks of a markdown file, each with the file's line number of its first code line.</summary>
    private static List<CodeBlock> CodeBlocks(string[] lines)
    {
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].TrimStart();
            if (!fence.StartsWith("```", StringComparison.Ordinal))
                continue;
            var info = fence.TrimStart('`').Trim().Split(' ', 2)[0].ToLowerInvariant();
            var end = Array.FindIndex(lines, i + 1, l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
            Assert.True(end > i, $"the code block opened on line {i + 1} is never closed");
            if (info is "csharp" or "cs" or "c#")
                blocks.Add(new CodeBlock(i + 2, string.Join("\n", lines[(i + 1)..end])));
            i = end;
        }
        return blocks;
    }

    private sealed record CodeBlock(int FirstLine, string Code);
}

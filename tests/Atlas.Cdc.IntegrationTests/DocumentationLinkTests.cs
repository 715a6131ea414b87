using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Links in the documents resolve: every relative link of README.md, CONTRIBUTING.md, CHANGELOG.md and
/// docs/**/*.md names a file or folder that exists, and every #anchor names a heading of the markdown file it points
/// at (GitHub's slugs); every runbook annotation of the alert rules names a heading of docs/runbooks.md.
/// Links inside code (fenced blocks, `spans`) are not links. Absolute URLs (https:, mailto:) are not checked.
/// </summary>
public partial class DocumentationLinkTests
{
    [Fact]
    public void Every_relative_link_and_anchor_in_the_documents_resolves()
    {
        var documents = Documents();
        Assert.True(documents.Count >= 10, $"only {documents.Count} documents found");
        var broken = new List<string>();
        var checkedLinks = 0;
        foreach (var document in documents)
        {
            foreach (var (line, target) in Links(document))
            {
                checkedLinks++;
                if (Resolve(Path.GetDirectoryName(document)!, target) is { } problem)
                    broken.Add($"{Relative(document)} line {line}: ({target}) {problem}");
            }
        }
        Assert.True(checkedLinks >= 50, $"only {checkedLinks} relative links found: is the link pattern still right?");
        Assert.True(broken.Count == 0, "Broken links:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void Every_runbook_annotation_of_the_alert_rules_names_a_heading_of_the_runbooks()
    {
        var runbooks = Path.Combine(RepositoryPaths.Root, "docs", "runbooks.md");
        var anchors = Slugs(File.ReadAllLines(runbooks));
        var problems = new List<string>();
        var count = 0;
        foreach (var file in new[] { "alerts.yml", "alerts.test.yml" }.Select(f => Path.Combine(RepositoryPaths.Root, "deploy", "prometheus", f)))
        {
            foreach (Match match in RunbookAnnotation().Matches(File.ReadAllText(file)))
            {
                count++;
                var value = match.Groups["value"].Value;
                var parts = value.Split('#', 2);
                if (parts[0] != "docs/runbooks.md" || parts.Length < 2)
                    problems.Add($"{Path.GetFileName(file)}: runbook '{value}' is not docs/runbooks.md#<alert>");
                else if (!anchors.Contains(parts[1]))
                    problems.Add($"{Path.GetFileName(file)}: runbook '{value}' names no heading of docs/runbooks.md");
            }
        }
        Assert.True(count >= 9, $"only {count} runbook annotations found");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [InlineData("Two commands", "two-commands")]
    [InlineData("Roles, grants and what each can see", "roles-grants-and-what-each-can-see")]
    [InlineData("`Cdc:Table` and `replay --outbox`", "cdctable-and-replay---outbox")]
    [InlineData("0001. Read the WAL, not the table", "0001-read-the-wal-not-the-table")]
    [InlineData("Kafka's **LZ4** codec (kafkajs)", "kafkas-lz4-codec-kafkajs")]
    [InlineData("[Linked](other.md) heading_with_underscore", "linked-heading_with_underscore")]
    [InlineData("JSON to Avro", "json-to-avro")]
    public void Heading_slugs_are_GitHub_s(string heading, string slug) => Assert.Equal(slug, Slug(heading));

    [Fact]
    public void A_repeated_heading_gets_GitHub_s_numbered_slug_and_a_broken_link_is_reported()
    {
        Assert.Equal(new[] { "notes", "notes-1", "notes-2" }, Slugs(["## Notes", "# Notes", "### Notes"]).Order());
        var directory = Path.Combine(RepositoryPaths.Root, "docs");
        Assert.Null(Resolve(directory, "operations.md#settings"));
        Assert.NotNull(Resolve(directory, "operations.md#no-such-heading"));
        Assert.NotNull(Resolve(directory, "no-such-file.md"));
        Assert.Equal(new List<(int, string)> { (1, "a.md#x"), (1, "self.md#y") }, Links(["[a](a.md#x) `[b](b.md)` [c](https://example.com) [d](mailto:x@y) [e](#y)"], "self.md"));
    }

    /// <summary>README.md, CONTRIBUTING.md, CHANGELOG.md and every markdown file under docs/.</summary>
    private static List<string> Documents() =>
        new[] { "README.md", "CONTRIBUTING.md", "CHANGELOG.md" }
            .Select(f => Path.Combine(RepositoryPaths.Root, f))
            .Concat(Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "docs"), "*.md", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Null when the link resolves; otherwise what is wrong.</summary>
    private static string? Resolve(string directory, string target)
    {
        var parts = target.Split('#', 2);
        var path = Uri.UnescapeDataString(parts[0]);
        var file = path.Length == 0 ? null : Path.GetFullPath(Path.Combine(directory, path));
        if (file is not null && !File.Exists(file) && !Directory.Exists(file))
            return "names no file or folder";
        if (parts.Length < 2)
            return null;
        var anchorFile = file ?? throw new InvalidOperationException("a same-page anchor needs its document");
        if (!anchorFile.EndsWith(".md", StringComparison.Ordinal))
            return LineAnchor().IsMatch(parts[1]) ? null : "has an anchor, but is not a markdown file";
        return Slugs(File.ReadAllLines(anchorFile)).Contains(parts[1]) ? null : $"names no heading of {Path.GetFileName(anchorFile)}";
    }

    /// <summary>
    /// The relative link targets of a markdown file with their line numbers, outside fenced code and code spans:
    /// inline links and images, and reference definitions. A same-page anchor is returned with the file's own name.
    /// </summary>
    private static List<(int Line, string Target)> Links(string[] lines, string? self = null)
    {
        var links = new List<(int, string)>();
        var fence = (string?)null;
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (fence is null && (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal)))
            {
                fence = trimmed[..3];
                continue;
            }
            if (fence is not null)
            {
                if (trimmed.StartsWith(fence, StringComparison.Ordinal))
                    fence = null;
                continue;
            }
            var text = CodeSpan().Replace(lines[i], "");
            var targets = InlineLink().Matches(text).Select(m => m.Groups["target"].Value.Trim('<', '>'))
                .Concat(ReferenceDefinition().Matches(text).Select(m => m.Groups["target"].Value));
            foreach (var target in targets)
            {
                if (Scheme().IsMatch(target))
                    continue;
                links.Add((i + 1, target.StartsWith('#') && self is not null ? self + target : target));
            }
        }
        return links;
    }

    private static List<(int Line, string Target)> Links(string document) =>
        Links(File.ReadAllLines(document), Path.GetFileName(document));

    /// <summary>The anchors GitHub gives the headings of a markdown file (ATX headings outside fenced code).</summary>
    private static HashSet<string> Slugs(string[] lines)
    {
        var slugs = new HashSet<string>(StringComparer.Ordinal);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var inFence = false;
        foreach (var line in lines)
        {
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal))
                inFence = !inFence;
            if (inFence || Heading().Match(line) is not { Success: true } heading)
                continue;
            var slug = Slug(heading.Groups["text"].Value);
            var seen = counts.GetValueOrDefault(slug);
            counts[slug] = seen + 1;
            slugs.Add(seen == 0 ? slug : $"{slug}-{seen}");
        }
        return slugs;
    }

    /// <summary>
    /// GitHub's slug of a heading: its rendered text (code spans, links and emphasis markers reduced to their text),
    /// lower case, every character dropped that is not a letter, mark, number, connector (<c>_</c>), space or
    /// hyphen, then each space a hyphen.
    /// </summary>
    private static string Slug(string heading)
    {
        var text = InlineLink().Replace(heading, m => m.Groups["text"].Value).Replace("`", "", StringComparison.Ordinal).Replace("*", "", StringComparison.Ordinal);
        var slug = new StringBuilder();
        foreach (var c in text.Trim().ToLowerInvariant())
        {
            var category = char.GetUnicodeCategory(c);
            if (c == ' ')
                slug.Append('-');
            else if (c == '-' || char.IsLetterOrDigit(c) || category is UnicodeCategory.ConnectorPunctuation
                     or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber)
                slug.Append(c);
        }
        return slug.ToString();
    }

    private static string Relative(string path) => Path.GetRelativePath(RepositoryPaths.Root, path);

    [GeneratedRegex(@"!?\[(?<text>[^\]]*)\]\((?<target><[^>]*>|[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^\s{0,3}\[[^\]]+\]:\s*(?<target>\S+)")]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex("`+[^`]*`+")]
    private static partial Regex CodeSpan();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"^\s{0,3}#{1,6}\s+(?<text>.*?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^L\d+(-L\d+)?$")]
    private static partial Regex LineAnchor();

    [GeneratedRegex(@"runbook:\s*""?(?<value>[^""\s]+)""?")]
    private static partial Regex RunbookAnnotation();
}

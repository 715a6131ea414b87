using System.Xml.Linq;
using Atlas.Cdc.UnitTests.Architecture;

namespace Atlas.Cdc.UnitTests;

/// <summary>The writer packages application teams install carry a license, a README and their XML docs.</summary>
public class PackageMetadataTests
{
    [Theory]
    [InlineData("src/Atlas.Cdc.Outbox/Atlas.Cdc.Outbox.csproj")]
    [InlineData("src/Atlas.Cdc.Outbox.EntityFrameworkCore/Atlas.Cdc.Outbox.EntityFrameworkCore.csproj")]
    public void A_writer_package_has_its_license_readme_and_documentation(string project)
    {
        var path = Path.Combine(ArchitectureTests.RepositoryRoot(), project);
        var xml = XDocument.Load(path);
        string? Property(string name) => xml.Descendants(name).FirstOrDefault()?.Value;

        Assert.Equal("Apache-2.0", Property("PackageLicenseExpression"));
        Assert.Equal("true", Property("GenerateDocumentationFile"));
        Assert.Equal("README.md", Property("PackageReadmeFile"));
        Assert.Contains(xml.Descendants("None"), n => (string?)n.Attribute("Include") == "README.md" && (string?)n.Attribute("Pack") == "true");
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(path)!, "README.md")), $"{project} packs a README.md that does not exist");
        Assert.True(File.Exists(Path.Combine(ArchitectureTests.RepositoryRoot(), "LICENSE")), "the repository has no LICENSE");
    }
}

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Locates the repository checkout that the running code was built from, so tests and the demo can find
/// files such as the <c>sql/</c> folder wherever their output directory is.
/// </summary>
public static class RepositoryPaths
{
    private const string SolutionFileName = "Atlas.Cdc.sln";

    private static readonly Lazy<string> _root = new(FindRoot);

    /// <summary>
    /// The repository root: the nearest directory at or above <see cref="AppContext.BaseDirectory"/>
    /// (then the current directory) that contains <c>Atlas.Cdc.sln</c>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No such directory exists.</exception>
    public static string Root => _root.Value;

    /// <summary>The repository's <c>sql/</c> folder: the schema every environment applies in name order.</summary>
    public static string SqlDirectory => Path.Combine(Root, "sql");

    private static string FindRoot()
    {
        // The base directory is the normal case (bin/Debug/net10.0 under the repo); the current directory
        // covers a build whose output was redirected outside the checkout.
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
                {
                    return dir.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException(
            $"No directory containing {SolutionFileName} at or above '{AppContext.BaseDirectory}' " +
            $"or '{Directory.GetCurrentDirectory()}'.");
    }
}

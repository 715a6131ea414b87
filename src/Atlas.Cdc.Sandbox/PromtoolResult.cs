namespace Atlas.Cdc.Sandbox;

/// <summary>The outcome of one <c>promtool</c> command.</summary>
/// <param name="Command">The command line, for failure messages.</param>
/// <param name="ExitCode">promtool's exit code: 0 when the check passed.</param>
/// <param name="Output">stdout and stderr together: what promtool found.</param>
public sealed record PromtoolResult(string Command, int ExitCode, string Output)
{
    /// <summary>True when the check passed.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <inheritdoc />
    public override string ToString() => $"{Command} exited with {ExitCode}:\n{Output}";
}

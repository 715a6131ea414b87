namespace Atlas.Cdc.Sandbox;

/// <summary>The outcome of one finished child process.</summary>
/// <param name="Command">The command line, quoted for display in error messages.</param>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="StandardOutput">Everything the process wrote to stdout.</param>
/// <param name="StandardError">Everything the process wrote to stderr.</param>
internal sealed record ProcessResult(string Command, int ExitCode, string StandardOutput, string StandardError);

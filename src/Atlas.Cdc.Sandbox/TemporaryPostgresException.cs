namespace Atlas.Cdc.Sandbox;

/// <summary>
/// A <see cref="TemporaryPostgres"/> operation failed. The message carries the command, its exit code, its
/// output and the tail of the server log, which is usually where the reason is.
/// </summary>
public sealed class TemporaryPostgresException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="summary">What was being attempted.</param>
    /// <param name="command">The command line, or the SQL/operation that failed.</param>
    /// <param name="exitCode">The command's exit code, or null when no process was involved.</param>
    /// <param name="output">The command's stderr/stdout, possibly empty.</param>
    /// <param name="logTail">The last lines of the server log.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public TemporaryPostgresException(
        string summary, string command, int? exitCode, string output, string logTail, Exception? innerException = null)
        : base(Format(summary, command, exitCode, output, logTail), innerException)
    {
        Command = command;
        ExitCode = exitCode;
        Output = output;
        LogTail = logTail;
    }

    /// <summary>The command line (or operation) that failed.</summary>
    public string Command { get; }

    /// <summary>The command's exit code; null when the failure was not a process exit.</summary>
    public int? ExitCode { get; }

    /// <summary>What the command printed (stderr first, then stdout).</summary>
    public string Output { get; }

    /// <summary>The last lines of the server log at the time of the failure.</summary>
    public string LogTail { get; }

    private static string Format(string summary, string command, int? exitCode, string output, string logTail) =>
        $"""
        {summary}
          command: {command}
          exit code: {(exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a")}
          output:
        {Indent(output)}
          server log (tail):
        {Indent(logTail)}
        """;

    private static string Indent(string text) =>
        string.IsNullOrWhiteSpace(text)
            ? "    (empty)"
            : string.Join('\n', text.TrimEnd().Split('\n').Select(line => "    " + line));
}

namespace Atlas.Cdc.Sandbox;

/// <summary>kcat failed, timed out or stopped unexpectedly; the message has the command, exit code and stderr.</summary>
public sealed class KcatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="summary">What was being attempted.</param>
    /// <param name="command">The kcat command line.</param>
    /// <param name="exitCode">kcat's exit code, or null when it was killed or never exited.</param>
    /// <param name="standardError">The tail of kcat's stderr.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public KcatException(string summary, string command, int? exitCode, string standardError, Exception? innerException = null)
        : base(
            $"{summary}\n  command: {command}\n  exit code: {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a"}\n" +
            $"  stderr: {(string.IsNullOrWhiteSpace(standardError) ? "(empty)" : standardError.Trim())}",
            innerException)
    {
        Command = command;
        ExitCode = exitCode;
        StandardError = standardError;
    }

    /// <summary>The kcat command line.</summary>
    public string Command { get; }

    /// <summary>kcat's exit code; null when it was killed or had not exited.</summary>
    public int? ExitCode { get; }

    /// <summary>The tail of kcat's stderr.</summary>
    public string StandardError { get; }
}

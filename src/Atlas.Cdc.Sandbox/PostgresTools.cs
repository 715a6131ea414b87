using System.Globalization;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Runs PostgreSQL's command-line tools (initdb, pg_ctl, psql) for one temporary server. initdb, pg_ctl and postgres
/// refuse to run as root, so when this process is root they run as the <c>postgres</c> OS user through
/// <c>runuser -u postgres --</c>; a failure carries the command, its output and the server log's tail.
/// </summary>
internal sealed class PostgresTools(string binDirectory, string workingDirectory, bool runAsServerUser, TimeSpan timeout, ServerLog log)
{
    public const string ServerOsUser = "postgres";
    private const int LogTailLines = 40;

    /// <summary>True when the server's tools run as the <c>postgres</c> OS user (this process is root).</summary>
    public bool RunAsServerUser { get; } = runAsServerUser;

    public string TimeoutSeconds => ((int)timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    /// <summary>The command line for <paramref name="tool"/>, wrapped in runuser when <paramref name="asServerUser"/>.</summary>
    public static (string FileName, string[] Arguments) Command(string binDirectory, string tool, string[] arguments, bool asServerUser)
    {
        var path = System.IO.Path.Combine(binDirectory, tool);
        return asServerUser ? ("runuser", ["-u", ServerOsUser, "--", path, .. arguments]) : (path, arguments);
    }

    /// <summary>Runs a tool of the bin directory; as the server's OS user unless <paramref name="asServerUser"/> is false (psql).</summary>
    public Task<ProcessResult> RunToolAsync(
        string summary,
        string tool,
        string[] arguments,
        string? standardInput = null,
        bool asServerUser = true,
        bool allowFailure = false,
        CancellationToken cancellationToken = default)
    {
        var (fileName, fullArguments) = Command(binDirectory, tool, arguments, asServerUser && RunAsServerUser);
        return RunAsync(summary, fileName, fullArguments, cancellationToken, standardInput, allowFailure);
    }

    /// <summary>Runs any program; a non-zero exit throws <see cref="TemporaryPostgresException"/> unless <paramref name="allowFailure"/>.</summary>
    public async Task<ProcessResult> RunAsync(
        string summary,
        string fileName,
        string[] arguments,
        CancellationToken cancellationToken,
        string? standardInput = null,
        bool allowFailure = false)
    {
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync(fileName, arguments, standardInput, workingDirectory, timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var command = ProcessRunner.Describe(ProcessRunner.CreateStartInfo(fileName, arguments, null));
            throw new TemporaryPostgresException(summary, command, exitCode: null, ex.Message, LogTail(), ex);
        }

        if (result.ExitCode != 0 && !allowFailure)
            throw Failure(summary, result);
        return result;
    }

    public TemporaryPostgresException Failure(string summary, ProcessResult result) =>
        new(summary, result.Command, result.ExitCode, (result.StandardError + "\n" + result.StandardOutput).Trim(), LogTail());

    public string LogTail() => log.Tail(LogTailLines);
}

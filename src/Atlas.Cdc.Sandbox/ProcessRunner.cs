using System.Diagnostics;
using System.Text;

namespace Atlas.Cdc.Sandbox;

/// <summary>Runs short-lived command-line tools (initdb, pg_ctl, psql, kcat) and captures their output.</summary>
internal static class ProcessRunner
{
    private static readonly UTF8Encoding _utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Builds a start description with redirected streams and a cleaned environment.</summary>
    /// <remarks>
    /// PG* variables are removed so a developer's PGHOST/PGOPTIONS/PGPASSWORD can never redirect or alter
    /// the tools: every connection parameter is passed explicitly.
    /// </remarks>
    public static ProcessStartInfo CreateStartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = _utf8,
            StandardErrorEncoding = _utf8,
            StandardInputEncoding = _utf8,
        };
        if (workingDirectory is not null)
        {
            startInfo.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("PG", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        return startInfo;
    }

    /// <summary>Runs a process to completion and returns its exit code and output; never throws on a non-zero exit.</summary>
    /// <param name="fileName">Executable path or name.</param>
    /// <param name="arguments">Arguments, passed without shell interpretation.</param>
    /// <param name="standardInput">Text written to stdin before it is closed; stdin is always closed so no tool waits on it.</param>
    /// <param name="workingDirectory">Working directory, or null for the current one.</param>
    /// <param name="timeout">Kill the process tree and throw <see cref="TimeoutException"/> after this long.</param>
    /// <param name="cancellationToken">Kills the process tree when cancelled.</param>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string? standardInput = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var startInfo = CreateStartInfo(fileName, arguments, workingDirectory);
        var command = Describe(startInfo);
        using var process = Start(startInfo, command);

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } limit)
        {
            timeoutSource.CancelAfter(limit);
        }

        // Both pipes are drained concurrently: a tool that fills stderr while we wait on stdout would block forever.
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await WriteAndCloseStandardInputAsync(process, standardInput, timeoutSource.Token);
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Kill(process);
            throw new TimeoutException($"'{command}' did not finish within {Durations.Format(timeout ?? TimeSpan.Zero)}.");
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw;
        }

        return new ProcessResult(command, process.ExitCode, await stdout, await stderr);
    }

    private static async Task WriteAndCloseStandardInputAsync(Process process, string? text, CancellationToken cancellationToken)
    {
        try
        {
            if (text is not null)
            {
                await process.StandardInput.WriteAsync(text.AsMemory(), cancellationToken);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The tool exited before reading all of stdin (broken pipe): its exit code tells the story.
        }
    }

    /// <summary>
    /// Synchronous variant for process-exit handlers, where awaiting is not safe; output is discarded.
    /// Returns the exit code, or null when the process did not finish in time (it is then killed).
    /// </summary>
    public static int? RunSync(string fileName, IEnumerable<string> arguments, string? workingDirectory, TimeSpan timeout)
    {
        var startInfo = CreateStartInfo(fileName, arguments, workingDirectory);
        using var process = Start(startInfo, Describe(startInfo));
        process.StandardInput.Close();
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (process.WaitForExit(timeout))
        {
            return process.ExitCode;
        }

        Kill(process);
        return null;
    }

    /// <summary>Starts a process, turning a missing executable into a message that names it.</summary>
    public static Process Start(ProcessStartInfo startInfo, string command)
    {
        try
        {
            return Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start '{command}'.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not start '{command}': {ex.Message}", ex);
        }
    }

    /// <summary>Kills a process and its children, ignoring a process that already exited.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Same race, reported by the OS.
        }
    }

    /// <summary>The command line as one string, each argument quoted when it needs to be.</summary>
    public static string Describe(ProcessStartInfo startInfo)
    {
        var builder = new StringBuilder(Quote(startInfo.FileName));
        foreach (var argument in startInfo.ArgumentList)
        {
            builder.Append(' ').Append(Quote(argument));
        }

        return builder.ToString();
    }

    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@+%".Contains(c))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

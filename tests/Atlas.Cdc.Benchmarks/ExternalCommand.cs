using System.Diagnostics;
using System.Text;

namespace Atlas.Cdc.Benchmarks;

/// <summary>Runs a command-line tool (pgbench, pg_recvlogical) to its end, timing it from start to exit.</summary>
internal static class ExternalCommand
{
    public sealed record Result(string Command, int ExitCode, string Output, string Error, TimeSpan Elapsed);

    public static async Task<Result> RunAsync(string file, IReadOnlyList<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            startInfo.Environment[name] = value;
        var command = file + " " + string.Join(' ', arguments);

        using var process = new Process { StartInfo = startInfo };
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        var stopwatch = Stopwatch.StartNew();
        process.Start();
        ChildProcesses.Track(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} did not finish within {timeout}:\n{error}");
        }
        finally
        {
            ChildProcesses.Forget(process);
        }
        var elapsed = stopwatch.Elapsed;
        process.WaitForExit(); // flushes the redirected streams
        lock (output)
        lock (error)
            return new Result(command, process.ExitCode, output.ToString(), error.ToString(), elapsed);
    }

    public static Result EnsureSuccess(this Result result) => result.ExitCode == 0
        ? result
        : throw new InvalidOperationException($"{result.Command} exited with {result.ExitCode}:\n{result.Error}{result.Output}");
}

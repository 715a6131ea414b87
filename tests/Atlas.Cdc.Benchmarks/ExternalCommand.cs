using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Atlas.Cdc.Benchmarks;

/// <summary>Runs a command-line tool (pgbench, pg_recvlogical) to its end, timing it from start to exit.</summary>
internal static partial class ExternalCommand
{
    /// <summary>A finished command with the CPU it used (user + system, the whole process) and its own run time.</summary>
    public sealed record Measured(Result Result, double CpuSeconds, TimeSpan Elapsed);

    /// <summary>
    /// Runs the command under bash, which reports its child's CPU time once the child has exited (the builtin
    /// <c>times</c>; /proc is gone by then) and its start and end (<c>$EPOCHREALTIME</c>, so the shell's own start is
    /// not part of <see cref="Measured.Elapsed"/>).
    /// </summary>
    public static async Task<Measured> RunMeasuredAsync(string file, IReadOnlyList<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        const string Script = "s=$EPOCHREALTIME; \"$0\" \"$@\"; rc=$?; e=$EPOCHREALTIME; echo \"@@measured $s $e\" >&2; times >&2; exit $rc";
        var result = await RunAsync("bash", ["-c", Script, file, .. arguments], timeout, environment);
        var marker = MeasuredPattern().Match(result.Error);
        if (!marker.Success)
            throw new InvalidOperationException($"{file}: no CPU time reported by the shell:\n{result.Error}");
        // bash writes the locale's decimal separator.
        static double Number(Group group) => double.Parse(group.Value.Replace(',', '.'), CultureInfo.InvariantCulture);
        static double Clock(Group minutes, Group seconds) => Number(minutes) * 60 + Number(seconds);
        var start = Number(marker.Groups["start"]);
        var end = Number(marker.Groups["end"]);
        // times prints the shell's own user and system time, then its children's: the second line is the command's.
        var cpu = Clock(marker.Groups["um"], marker.Groups["us"]) + Clock(marker.Groups["sm"], marker.Groups["ss"]);
        var error = result.Error[..marker.Index];
        return new Measured(result with { Command = file + " " + string.Join(' ', arguments), Error = error }, cpu, TimeSpan.FromSeconds(end - start));
    }

    [GeneratedRegex(@"@@measured (?<start>[0-9.,]+) (?<end>[0-9.,]+)\n[^\n]*\n(?<um>\d+)m(?<us>[0-9.,]+)s (?<sm>\d+)m(?<ss>[0-9.,]+)s\s*$")]
    private static partial Regex MeasuredPattern();

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

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Atlas.Cdc.Mapping;
using Atlas.Cdc.Publishing;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// The Kafka half of the client floor (issue 23): kcat (C, on Debian's librdkafka) producing the relay's messages
/// to the same brokers with the relay's producer settings, and nothing else: no decoding, no tracking, no .NET.
/// Each message has the event's key and payload (read back from the outbox) and five headers of the relay's names
/// and sizes; their values are fixed, kcat cannot vary them per message, which changes no size.
/// </summary>
internal static class KcatProducer
{
    private const string Kcat = "kcat";

    /// <summary>The five headers every relay message carries (docs/consuming.md's message contract), with values of the real sizes.</summary>
    private static IEnumerable<(string Name, string Value)> Headers(string commitLsn) =>
    [
        (MessageHeaders.Id, "0b6c3f4e-8a41-4d55-9a1f-3c2d7e9b5a10"), // a uuid's text, as the relay sends the id column
        (MessageHeaders.EventType, "OrderPlaced"),
        (MessageHeaders.AggregateType, "order"),
        (MessageHeaders.CommitLsn, commitLsn),
        (MessageHeaders.CommitTime, "2026-12-07T20:28:00.123456Z"), // RFC 3339, UTC, microseconds: 27 bytes
    ];

    /// <summary>
    /// The relay's producer configuration as kcat properties: its defaults (and any <c>--relay
    /// Cdc__Kafka__Properties__...</c>), then its fixed guarantees (acks=all, idempotence, no timeout). Confluent.Kafka's
    /// own <c>dotnet.*</c> settings have no librdkafka equivalent.
    /// </summary>
    public static Dictionary<string, string> Settings(BenchmarkOptions options)
    {
        var settings = new Dictionary<string, string>(ProducerSettings.Defaults, StringComparer.Ordinal);
        foreach (var (name, value) in options.KafkaProperties())
            settings[name] = value;
        foreach (var (name, value) in ProducerSettings.Guarantees)
            settings[name] = value;
        settings["client.id"] = "atlas-cdc-bench-floor";
        foreach (var name in settings.Keys.Where(n => n.StartsWith("dotnet.", StringComparison.Ordinal)).ToList())
            settings.Remove(name);
        return settings;
    }

    private static List<string> Arguments(string bootstrap, string topic, string commitLsn, BenchmarkOptions options)
    {
        // One message per input line, "key<TAB>payload".
        var arguments = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-q" };
        foreach (var (name, value) in Headers(commitLsn))
            arguments.AddRange(["-H", $"{name}={value}"]);
        foreach (var (name, value) in Settings(options))
            arguments.AddRange(["-X", $"{name}={value}"]);
        return arguments;
    }

    /// <summary>
    /// Sends every line of <paramref name="file"/> and waits for every acknowledgement (kcat drains its queue before
    /// it exits), then checks the topic holds them all. Returns kcat's run time and its CPU, start-up included.
    /// </summary>
    public static async Task<(TimeSpan Elapsed, double CpuSeconds)> ProduceFileAsync(string bootstrap, string topic, string file, long messages,
        string commitLsn, BenchmarkOptions options)
    {
        var measured = await ExternalCommand.RunMeasuredAsync(Kcat, [.. Arguments(bootstrap, topic, commitLsn, options), "-l", file],
            TimeSpan.FromMinutes(5));
        measured.Result.EnsureSuccess();
        await EnsureCountAsync(bootstrap, topic, messages);
        return (measured.Elapsed, measured.CpuSeconds);
    }

    /// <summary>Sends a few lines ("key&lt;TAB&gt;payload") and waits for their acknowledgement.</summary>
    public static async Task ProduceLinesAsync(string bootstrap, string topic, IReadOnlyList<string> lines, BenchmarkOptions options)
    {
        var file = Path.Combine(Path.GetTempPath(), $"atlas-cdc-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.txt");
        try
        {
            await File.WriteAllLinesAsync(file, lines);
            (await ExternalCommand.RunAsync(Kcat, [.. Arguments(bootstrap, topic, "0/0", options), "-l", file], TimeSpan.FromMinutes(1))).EnsureSuccess();
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Sends the lines at <paramref name="rate"/> a second for <paramref name="seconds"/> (in steps of 10 ms, through
    /// kcat's stdin) and returns kcat's CPU over that window only (its start-up before, like the relay's, is not in
    /// it), and how many messages it sent.
    /// </summary>
    public static async Task<(double CpuSeconds, long Sent)> ProducePacedAsync(string bootstrap, string topic, IReadOnlyList<string> lines,
        int rate, int seconds, string commitLsn, BenchmarkOptions options)
    {
        var startInfo = new ProcessStartInfo(Kcat)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var argument in Arguments(bootstrap, topic, commitLsn, options))
            startInfo.ArgumentList.Add(argument);
        using var process = new Process { StartInfo = startInfo };
        var error = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        ChildProcesses.Track(process);
        try
        {
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var input = process.StandardInput;
            // Connected and holding the topic's metadata before the window starts.
            await input.WriteLineAsync(lines[0]);
            await input.FlushAsync();
            await Task.Delay(1000);
            var cpuBefore = ProcessStats.CpuSeconds(process.Id);
            long sent = 0;
            var total = (long)rate * seconds;
            var clock = Stopwatch.StartNew();
            while (sent < total)
            {
                var due = Math.Min(total, (long)(clock.Elapsed.TotalSeconds * rate));
                for (; sent < due; sent++)
                    await input.WriteLineAsync(lines[(int)(1 + sent % (lines.Count - 1))]);
                await input.FlushAsync();
                await Task.Delay(10);
            }
            await Task.Delay(500); // the last linger and acknowledgements
            var cpu = ProcessStats.CpuSeconds(process.Id) - cpuBefore;
            input.Close();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
                await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"kcat exited with {process.ExitCode}:\n{error}");
            await EnsureCountAsync(bootstrap, topic, sent + 1);
            return (cpu ?? double.NaN, sent);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
            ChildProcesses.Forget(process);
        }
    }

    /// <summary>
    /// Fails unless the topic's partitions hold <paramref name="expected"/> messages: the sum of each partition's last
    /// offset + 1 (the mock drops old messages beyond ~5 MB a partition, but never renumbers them).
    /// </summary>
    private static async Task EnsureCountAsync(string bootstrap, string topic, long expected)
    {
        var result = (await ExternalCommand.RunAsync(Kcat, ["-C", "-b", bootstrap, "-t", topic, "-o", "-1", "-e", "-q", "-f", "%p %o\\n"],
            TimeSpan.FromMinutes(1))).EnsureSuccess();
        long count = 0;
        foreach (var line in result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            count += long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture) + 1;
        if (count != expected)
            throw new InvalidOperationException($"kcat was to produce {expected:N0} messages to {topic}; the topic holds {count:N0}.");
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// An independent Kafka consumer built on the <c>kcat</c> CLI (Debian package kcat): it shares no code with
/// the relay's producer, so what it reads is what a real consumer would see.
/// </summary>
/// <remarks>
/// Messages are parsed from kcat's <c>-J</c> envelope byte by byte, so UTF-8 text round-trips exactly and
/// <see cref="KafkaRecord.KeyBytes"/>/<see cref="KafkaRecord.PayloadBytes"/> are exact even for binary data.
/// Reading or tailing a topic that does not exist: <see cref="ReadAllAsync(string, string, CancellationToken)"/>
/// checks the topic list first (which does not create anything) and returns an empty list;
/// <see cref="TailAsync"/> subscribes anyway, which on librdkafka's mock cluster auto-creates the topic with
/// 4 partitions (create it first if the partition count matters).
/// </remarks>
public static class KafkaTopicReader
{
    /// <summary>How long a read-to-end or a topic listing may take before kcat is killed.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    private const string Kcat = "kcat";
    private const string ClientIdPrefix = "atlas-cdc-sandbox-reader-";
    private const int StderrTailLines = 30;

    private static int _orphansReaped;

    /// <summary>Reads a topic from the beginning to its current end, ordered by partition, then offset.</summary>
    /// <param name="bootstrap">Bootstrap servers.</param>
    /// <param name="topic">Topic name; a topic that does not exist gives an empty list (and is not created).</param>
    /// <param name="cancellationToken">Kills kcat when cancelled.</param>
    /// <returns>Every message currently in the topic.</returns>
    /// <exception cref="KcatException">
    /// kcat failed (e.g. every broker is down) or did not finish within <see cref="DefaultTimeout"/> (e.g. the
    /// broker leading one partition is down: the mock never moves leaders).
    /// </exception>
    public static Task<IReadOnlyList<KafkaRecord>> ReadAllAsync(string bootstrap, string topic, CancellationToken cancellationToken = default) =>
        ReadAllAsync(bootstrap, topic, DefaultTimeout, cancellationToken);

    /// <summary>Reads a topic from the beginning to its current end, with an explicit time limit.</summary>
    /// <param name="bootstrap">Bootstrap servers.</param>
    /// <param name="topic">Topic name; a topic that does not exist gives an empty list (and is not created).</param>
    /// <param name="timeout">Kill kcat and throw <see cref="KcatException"/> after this long (e.g. when every broker is down).</param>
    /// <param name="cancellationToken">Kills kcat when cancelled.</param>
    /// <returns>Every message currently in the topic, ordered by partition, then offset.</returns>
    public static async Task<IReadOnlyList<KafkaRecord>> ReadAllAsync(
        string bootstrap, string topic, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var topics = await ListTopicsAsync(bootstrap, timeout, cancellationToken);
        if (!topics.Contains(topic, StringComparer.Ordinal))
        {
            return [];
        }

        return await ReadExistingTopicAsync(bootstrap, topic, timeout, cancellationToken);
    }

    /// <summary>Names of every topic in the cluster, sorted ordinally (kcat <c>-L -J</c>; creates nothing).</summary>
    /// <param name="bootstrap">Bootstrap servers.</param>
    /// <param name="cancellationToken">Kills kcat when cancelled.</param>
    /// <returns>Topic names.</returns>
    /// <exception cref="KcatException">kcat failed or did not finish within <see cref="DefaultTimeout"/>.</exception>
    public static Task<IReadOnlyList<string>> ListTopicsAsync(string bootstrap, CancellationToken cancellationToken = default) =>
        ListTopicsAsync(bootstrap, DefaultTimeout, cancellationToken);

    /// <summary>Reads every topic whose name passes <paramref name="topicFilter"/>, ordered by topic, partition, offset.</summary>
    /// <param name="bootstrap">Bootstrap servers.</param>
    /// <param name="topicFilter">Which topics to read.</param>
    /// <param name="cancellationToken">Kills kcat when cancelled.</param>
    /// <returns>The messages of all matching topics.</returns>
    public static async Task<IReadOnlyList<KafkaRecord>> ReadTopicsAsync(
        string bootstrap, Func<string, bool> topicFilter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topicFilter);
        var records = new List<KafkaRecord>();
        // One topic at a time: kcat's simple consumer takes one topic, and the machine has two cores.
        foreach (var topic in (await ListTopicsAsync(bootstrap, cancellationToken)).Where(topicFilter))
        {
            records.AddRange(await ReadExistingTopicAsync(bootstrap, topic, DefaultTimeout, cancellationToken));
        }

        return records;
    }

    /// <summary>
    /// Streams a topic's messages as kcat prints them (unbuffered), until cancelled; kcat is killed when the
    /// enumeration is cancelled or disposed. Each record's <see cref="KafkaRecord.ReceivedAt"/> is the local
    /// time its line arrived; kcat polls the brokers every 5 ms when idle, so that is the measurement's resolution.
    /// </summary>
    /// <param name="bootstrap">Bootstrap servers.</param>
    /// <param name="topic">Topic name (auto-created with 4 partitions on the mock cluster if missing).</param>
    /// <param name="offset">kcat <c>-o</c>: <c>beginning</c>, <c>end</c>, an absolute offset, <c>-N</c> (N before the end) or <c>s@TIMESTAMP_MS</c>.
    /// <c>end</c> is resolved when kcat starts, so messages produced before that moment are skipped: prefer
    /// <c>beginning</c> on a fresh topic when nothing may be missed.</param>
    /// <param name="cancellationToken">Ends the stream (an <see cref="OperationCanceledException"/> is thrown, as usual).</param>
    /// <returns>The messages, in arrival order (interleaved across partitions).</returns>
    /// <exception cref="KcatException">kcat exited by itself (a fatal error; it keeps running while brokers are down).</exception>
    public static async IAsyncEnumerable<KafkaRecord> TailAsync(
        string bootstrap,
        string topic,
        string offset = "beginning",
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var arguments = ConsumerArguments(bootstrap, topic, offset, exitAtEnd: false);
        await foreach (var record in ConsumeAsync(arguments, exitAtEnd: false, cancellationToken))
        {
            yield return record;
        }
    }

    private static async Task<IReadOnlyList<string>> ListTopicsAsync(string bootstrap, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ReapOrphanedKcatOnce();
        string[] arguments = ["-L", "-J", "-q", "-b", bootstrap, "-X", $"client.id={ClientIdPrefix}{OwnerProcess.Token}"];
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync(Kcat, arguments, timeout: timeout, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            throw new KcatException("Listing topics failed", Describe(arguments), exitCode: null, ex.Message, ex);
        }

        if (result.ExitCode != 0)
        {
            throw new KcatException("Listing topics failed", result.Command, result.ExitCode, result.StandardError);
        }

        try
        {
            using var metadata = JsonDocument.Parse(result.StandardOutput);
            return metadata.RootElement.GetProperty("topics").EnumerateArray()
                .Select(t => t.GetProperty("topic").GetString()!)
                .Order(StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new KcatException($"Unexpected kcat -L output: {result.StandardOutput}", result.Command, result.ExitCode, result.StandardError, ex);
        }
    }

    private static async Task<IReadOnlyList<KafkaRecord>> ReadExistingTopicAsync(
        string bootstrap, string topic, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var arguments = ConsumerArguments(bootstrap, topic, "beginning", exitAtEnd: true);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var records = new List<KafkaRecord>();
        try
        {
            await foreach (var record in ConsumeAsync(arguments, exitAtEnd: true, timeoutSource.Token))
            {
                records.Add(record);
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KcatException(
                $"Reading topic '{topic}' did not reach its end within {Durations.Format(timeout)} ({records.Count} messages read); are the brokers up?",
                Describe(arguments), exitCode: null, "", ex);
        }

        return records.OrderBy(r => r.Partition).ThenBy(r => r.Offset).ToList();
    }

    private static string[] ConsumerArguments(string bootstrap, string topic, string offset, bool exitAtEnd)
    {
        ArgumentException.ThrowIfNullOrEmpty(bootstrap);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentException.ThrowIfNullOrEmpty(offset);
        // -u: unbuffered, so a tail sees each message when kcat gets it (latency measurement), not per 4 KB.
        // fetch.wait.max.ms: the mock broker answers an idle fetch only when this wait expires (it is not woken
        // by new data), so the default 500 ms would add up to half a second to every measured latency and to
        // every read-to-end. 5 ms bounds that error at about 5 ms for a few percent of one core while idle.
        // client.id carries our process token so a kcat orphaned by a killed run can be found and ended.
        string[] arguments =
        [
            "-C", "-J", "-u", "-q", "-b", bootstrap, "-t", topic, "-o", offset,
            "-X", "fetch.wait.max.ms=5",
            // After a broker outage librdkafka backs off up to 10 s between reconnects; a tail would then see
            // messages seconds late and blur any recovery measurement.
            "-X", "reconnect.backoff.max.ms=500",
            "-X", $"client.id={ClientIdPrefix}{OwnerProcess.Token}",
        ];
        // -e: stop at the end and fail fast when every broker is down. A tail instead keeps going through a
        // Kafka outage (-E: kcat otherwise exits on "all brokers down"), since tests take brokers down on purpose.
        return exitAtEnd ? [.. arguments, "-e"] : [.. arguments, "-E"];
    }

    private static async IAsyncEnumerable<KafkaRecord> ConsumeAsync(
        string[] arguments, bool exitAtEnd, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ReapOrphanedKcatOnce();
        var startInfo = ProcessRunner.CreateStartInfo(Kcat, arguments, workingDirectory: null);
        var command = ProcessRunner.Describe(startInfo);
        using var process = ProcessRunner.Start(startInfo, command);
        process.StandardInput.Close();
        using var exitRegistration = ExitCleanup.Register(() => ProcessRunner.Kill(process));
        // A tail never ends by itself: if this process is killed, the watchdog ends kcat. A read-to-end ends by
        // itself, and spawning a second process for every read would double the cost of polling loops.
        var watchdog = exitAtEnd
            ? null
            : DeathWatchdog.Start("atlas-cdc-kcat-watchdog", "kill -9 \"$1\"", [process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var stderr = new Queue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            // Bounded: a kcat retrying unreachable brokers for minutes must not grow memory without limit.
            lock (stderr)
            {
                stderr.Enqueue(e.Data);
                if (stderr.Count > StderrTailLines)
                {
                    stderr.Dequeue();
                }
            }
        };
        process.BeginErrorReadLine();
        using var killOnCancel = cancellationToken.Register(() => ProcessRunner.Kill(process));

        var stream = process.StandardOutput.BaseStream;
        var chunk = new byte[64 * 1024];
        var lines = new KcatLineSplitter();
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await stream.ReadAsync(chunk, cancellationToken);
                }
                catch (IOException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                if (read == 0)
                {
                    break;
                }

                // One timestamp per chunk: every line in it arrived at the same moment.
                var receivedAt = DateTimeOffset.UtcNow;
                foreach (var record in lines.Push(chunk.AsSpan(0, read), receivedAt))
                {
                    yield return record;
                }
            }
        }
        finally
        {
            DeathWatchdog.Stop(watchdog);
            ProcessRunner.Kill(process);
        }

        cancellationToken.ThrowIfCancellationRequested();
        await process.WaitForExitAsync(CancellationToken.None);
        if (exitAtEnd && process.ExitCode == 0)
        {
            foreach (var record in lines.Flush())
            {
                yield return record;
            }

            yield break;
        }

        string stderrTail;
        lock (stderr)
        {
            stderrTail = string.Join('\n', stderr);
        }

        throw new KcatException(
            exitAtEnd ? "kcat failed while reading a topic" : "kcat stopped while tailing a topic",
            command, process.ExitCode, stderrTail);
    }

    private static string Describe(string[] arguments) =>
        ProcessRunner.Describe(ProcessRunner.CreateStartInfo(Kcat, arguments, workingDirectory: null));

    /// <summary>
    /// Kills kcat processes started by an earlier run of this code that died without ending them (their
    /// client.id names a process that no longer exists): such a kcat retries unreachable brokers forever.
    /// </summary>
    private static void ReapOrphanedKcatOnce()
    {
        if (Interlocked.Exchange(ref _orphansReaped, 1) != 0)
        {
            return;
        }

        foreach (var kcat in Process.GetProcessesByName(Kcat))
        {
            using (kcat)
            {
                try
                {
                    // kcat splits "-X name=value" in place, so its cmdline shows "client.id\0atlas-...": match the value alone.
                    var commandLine = File.ReadAllText($"/proc/{kcat.Id}/cmdline");
                    var start = commandLine.IndexOf(ClientIdPrefix, StringComparison.Ordinal);
                    if (start < 0)
                    {
                        continue;
                    }

                    var token = commandLine[(start + ClientIdPrefix.Length)..].Split('\0', '=')[0];
                    if (!OwnerProcess.IsAlive(token))
                    {
                        ProcessRunner.Kill(kcat);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    // Exited meanwhile, or not ours.
                }
            }
        }
    }
}

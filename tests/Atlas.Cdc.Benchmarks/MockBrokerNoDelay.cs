using System.Runtime.InteropServices;

namespace Atlas.Cdc.Benchmarks;

/// <summary>
/// librdkafka's mock brokers (hosted in this process) leave Nagle's algorithm on for the connections they accept;
/// a real Kafka broker sets TCP_NODELAY on every socket. With Nagle on, a small response written while an earlier
/// one is unacknowledged waits for the client's delayed ACK: up to 40 ms on Linux, an artefact no real cluster
/// has. This sets TCP_NODELAY on every TCP socket of this process (the mock's and our own clients', where it is
/// already set), again every 50 ms, because clients connect throughout the run.
/// </summary>
internal sealed class MockBrokerNoDelay : IAsyncDisposable
{
    private const int IpProtoTcp = 6;
    private const int TcpNoDelay = 1;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private MockBrokerNoDelay() => _loop = Task.Run(LoopAsync);

    public static MockBrokerNoDelay Start() => new();

    private async Task LoopAsync()
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        while (!_stop.IsCancellationRequested)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                var name = Path.GetFileName(path);
                string? target;
                try
                {
                    target = new FileInfo(path).LinkTarget;
                }
                catch (IOException)
                {
                    continue;
                }
                // One attempt per socket (fd + inode): non-TCP sockets simply refuse the option.
                if (target is null || !target.StartsWith("socket:", StringComparison.Ordinal) || !done.Add(name + target))
                    continue;
                var one = 1;
                _ = SetSocketOption(int.Parse(name, System.Globalization.CultureInfo.InvariantCulture), IpProtoTcp, TcpNoDelay, ref one, sizeof(int));
            }
            await Task.Delay(50, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static extern int SetSocketOption(int socket, int level, int option, ref int value, int length);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

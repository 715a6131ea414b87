using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// A throwaway, real PostgreSQL 15 server in a temporary directory, configured for logical replication and
/// listening on 127.0.0.1 on a free port. Disposing it kills the server and deletes every file. So that no
/// server outlives its process: a process-exit hook cleans up on a normal exit; a watchdog process cleans
/// up when this process dies any other way (SIGKILL, or SIGTERM, which .NET 10 no longer turns into
/// ProcessExit); and leftovers of a killed process are removed by the next <see cref="StartAsync"/>.
/// </summary>
/// <remarks>
/// initdb, pg_ctl and postgres refuse to run as root, so when this process is root the directory is given
/// to the <c>postgres</c> OS user and those tools run through <c>runuser -u postgres --</c>. fsync stays on:
/// the server is used to test crash safety.
/// </remarks>
public sealed class TemporaryPostgres : IAsyncDisposable
{
    private const string DirectoryPrefix = "atlas-cdc-pg-";
    private const string OwnerFileName = "owner";
    private const string PidFileName = "postmaster.pid";
    private const string ServerOsUser = "postgres";
    private const string SuperuserName = "postgres";
    private const int PortAttempts = 5;
    private const int LogTailLines = 40;

    private static readonly string[] _stopModes = ["smart", "fast", "immediate"];
    private static int _orphansReaped;

    private readonly TemporaryPostgresOptions _options;
    private readonly string _baseDirectory;
    private readonly bool _runAsServerUser;
    private readonly SemaphoreSlim _lifecycleLock = new(1, 1);
    private readonly IDisposable _exitRegistration;
    private System.Diagnostics.Process? _watchdog;
    private string _initialConfiguration = "";
    private volatile bool _running;
    private int _disposed;

    private TemporaryPostgres(TemporaryPostgresOptions options, string baseDirectory)
    {
        _options = options;
        _baseDirectory = baseDirectory;
        _runAsServerUser = Environment.IsPrivilegedProcess;
        DataDirectory = Path.Combine(baseDirectory, "data");
        LogFile = Path.Combine(baseDirectory, "postgres.log");
        _exitRegistration = ExitCleanup.Register(() =>
        {
            StopWatchdog();
            Reap(_options.BinDirectory, _baseDirectory, _runAsServerUser);
        });
    }

    /// <summary>The TCP port on 127.0.0.1; it stays the same across <see cref="StopAsync"/>/<see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>The cluster's data directory (PGDATA).</summary>
    public string DataDirectory { get; }

    /// <summary>The temporary directory holding the data directory, the server log and the Unix socket.</summary>
    public string BaseDirectory => _baseDirectory;

    /// <summary>The server log (pg_ctl <c>-l</c>); its tail is included in every failure.</summary>
    public string LogFile { get; }

    /// <summary>Whether the server is currently started by this instance.</summary>
    public bool IsRunning => _running;

    /// <summary>Npgsql connection string for the <c>postgres</c> superuser and database.</summary>
    public string SuperuserConnectionString => ConnectionStringFor(SuperuserName);

    /// <summary>
    /// Starts a new server: initdb, configuration, start, then (by default) the repository's <c>sql/</c> files.
    /// </summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start; a half-built server is removed.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="TemporaryPostgresException">A command failed; the message has its output and the log tail.</exception>
    public static async Task<TemporaryPostgres> StartAsync(
        TemporaryPostgresOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new TemporaryPostgresOptions();
        if (Interlocked.Exchange(ref _orphansReaped, 1) == 0)
        {
            ReapOrphans(options.BinDirectory);
        }

        var directory = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        // Written first, so a run killed at any later point is recognisable as dead by the next one.
        await File.WriteAllTextAsync(Path.Combine(directory, OwnerFileName), OwnerProcess.Token, cancellationToken);
        var server = new TemporaryPostgres(options, directory);
        try
        {
            server.StartWatchdog();
            await server.InitializeAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>An Npgsql connection string for <paramref name="user"/> on this server.</summary>
    /// <param name="user">Role name.</param>
    /// <param name="password">Password, if any (authentication is <c>trust</c>, so it is not checked).</param>
    /// <param name="database">Database name.</param>
    public string ConnectionStringFor(string user, string? password = null, string database = "postgres")
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = user,
            Database = database,
        };
        if (password is not null)
        {
            builder.Password = password;
        }

        return builder.ConnectionString;
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m MODE</c>) and waits until it is down; a stopped server is left alone.</summary>
    /// <param name="mode"><c>smart</c>, <c>fast</c> or <c>immediate</c> (the last one is a crash: recovery runs at the next start).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task StopAsync(string mode = "fast", CancellationToken cancellationToken = default)
    {
        if (!_stopModes.Contains(mode, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Unknown pg_ctl stop mode '{mode}'; use smart, fast or immediate.", nameof(mode));
        }

        await _lifecycleLock.WaitAsync(cancellationToken);
        try
        {
            ThrowIfDisposed();
            if (!_running)
            {
                return;
            }

            var result = await RunToolCheckedAsync(
                "Stopping PostgreSQL failed",
                "pg_ctl",
                ["-D", DataDirectory, "-m", mode, "-w", "-t", TimeoutSeconds, "stop"],
                allowFailure: true,
                cancellationToken: cancellationToken);
            // A server that died on its own leaves no pid file: that is "stopped", not an error.
            if (result.ExitCode != 0 && File.Exists(Path.Combine(DataDirectory, PidFileName)))
            {
                throw Failure("Stopping PostgreSQL failed", result);
            }

            _running = false;
            // Pooled connections to the old server are dead; drop them so the next Open gets a fresh one.
            NpgsqlConnection.ClearAllPools();
        }
        finally
        {
            _lifecycleLock.Release();
        }
    }

    /// <summary>Starts a stopped server again with the same data directory and port (crash recovery runs if needed).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycleLock.WaitAsync(cancellationToken);
        try
        {
            ThrowIfDisposed();
            if (_running)
            {
                return;
            }

            var result = await StartServerAsync(cancellationToken);
            if (result.ExitCode != 0)
            {
                throw Failure($"Starting PostgreSQL again on port {Port} failed", result);
            }

            _running = true;
        }
        finally
        {
            _lifecycleLock.Release();
        }
    }

    /// <summary>Stops the server with <paramref name="mode"/>, then starts it again on the same port.</summary>
    /// <param name="mode">Stop mode, as for <see cref="StopAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the waits.</param>
    public async Task RestartAsync(string mode = "fast", CancellationToken cancellationToken = default)
    {
        await StopAsync(mode, cancellationToken);
        await StartAgainAsync(cancellationToken);
    }

    /// <summary>Runs SQL as superuser in database <c>postgres</c> and returns the affected row count.</summary>
    /// <param name="sql">One or more statements.</param>
    /// <param name="cancellationToken">Cancels the statement (there is no command timeout).</param>
    /// <exception cref="PostgresException">The server rejected the SQL (unwrapped, so SqlState can be checked).</exception>
    /// <exception cref="TemporaryPostgresException">The server could not be reached.</exception>
    public Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken = default) =>
        WithCommandAsync(sql, command => command.ExecuteNonQueryAsync(cancellationToken), cancellationToken);

    /// <summary>Runs a query as superuser and returns the first column of the first row, converted to <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">Target type; NULL or no row gives <c>default</c>.</typeparam>
    /// <param name="sql">The query.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="PostgresException">The server rejected the SQL.</exception>
    /// <exception cref="TemporaryPostgresException">The server could not be reached.</exception>
    public Task<T?> ScalarAsync<T>(string sql, CancellationToken cancellationToken = default) =>
        WithCommandAsync(sql, async command =>
        {
            var value = await command.ExecuteScalarAsync(cancellationToken);
            if (value is null or DBNull)
            {
                return default;
            }

            if (value is T typed)
            {
                return typed;
            }

            var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
            return (T?)Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
        }, cancellationToken);

    /// <summary>
    /// Runs SQL through psql as superuser (<c>-X -q -A -t -v ON_ERROR_STOP=1</c>, script on stdin) and returns
    /// stdout: unaligned, tuples only, so <c>SELECT 1, 2</c> gives <c>"1|2\n"</c>.
    /// </summary>
    /// <param name="sql">A psql script (several statements and meta-commands are fine).</param>
    /// <param name="database">Database to connect to.</param>
    /// <param name="cancellationToken">Kills psql when cancelled.</param>
    /// <exception cref="TemporaryPostgresException">psql exited non-zero; the message has its stderr.</exception>
    public async Task<string> PsqlAsync(string sql, string database = "postgres", CancellationToken cancellationToken = default)
    {
        var result = await RunToolCheckedAsync(
            "psql failed",
            "psql",
            [.. PsqlConnectionArguments(database), "-A", "-t", "-f", "-"],
            standardInput: sql,
            asServerUser: false,
            cancellationToken: cancellationToken);
        return result.StandardOutput;
    }

    /// <summary>The last lines of the server log, for diagnostics.</summary>
    /// <param name="lines">How many lines at most.</param>
    public string ReadLogTail(int lines = LogTailLines)
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            const int MaxBytes = 64 * 1024;
            stream.Seek(Math.Max(0, stream.Length - MaxBytes), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = reader.ReadToEnd();
            var all = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"(server log {LogFile} not readable: {ex.Message})";
        }
    }

    /// <summary>Kills the server (<c>pg_ctl stop -m immediate</c>) and deletes its directory. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _lifecycleLock.WaitAsync();
        try
        {
            StopWatchdog();
            await Task.Run(() => Reap(_options.BinDirectory, _baseDirectory, _runAsServerUser));
            _running = false;
            NpgsqlConnection.ClearAllPools();
        }
        finally
        {
            _exitRegistration.Dispose();
            _lifecycleLock.Release();
        }
    }

    private string TimeoutSeconds => ((int)_options.CommandTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    private string ConfigurationFile => Path.Combine(DataDirectory, "postgresql.conf");

    /// <summary>Arranges for the server to be stopped and the directory deleted if this process dies without disposing.</summary>
    private void StartWatchdog()
    {
        var (stopFile, stopArguments) = ToolCommand(
            _options.BinDirectory,
            "pg_ctl",
            ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"],
            _runAsServerUser);
        _watchdog = DeathWatchdog.Start(
            "atlas-cdc-pg-watchdog",
            "dir=$1; shift; \"$@\"; rm -rf -- \"$dir\"",
            [_baseDirectory, stopFile, .. stopArguments]);
    }

    // Killed rather than released: this process then does the cleanup itself, synchronously.
    private void StopWatchdog() => DeathWatchdog.Stop(Interlocked.Exchange(ref _watchdog, null));

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_runAsServerUser)
        {
            await RunCheckedAsync(
                "Giving the temporary directory to the postgres OS user failed",
                "chown",
                ["-R", $"{ServerOsUser}:{ServerOsUser}", _baseDirectory],
                cancellationToken);
        }

        await RunToolCheckedAsync(
            "initdb failed",
            "initdb",
            ["-D", DataDirectory, "-A", "trust", "-U", SuperuserName, "--encoding=UTF8", "--locale=C", "--no-instructions"],
            cancellationToken: cancellationToken);
        _initialConfiguration = await File.ReadAllTextAsync(ConfigurationFile, cancellationToken);

        for (var attempt = 1; ; attempt++)
        {
            // The free port is found by binding port 0 and releasing it, so another process can take it before
            // postgres binds it: on "address in use" a new port is tried.
            Port = FindFreePort();
            await File.WriteAllTextAsync(ConfigurationFile, _initialConfiguration + BuildSettings(), cancellationToken);
            var logLengthBefore = LogLength();
            var result = await StartServerAsync(cancellationToken);
            if (result.ExitCode == 0)
            {
                _running = true;
                break;
            }

            if (attempt < PortAttempts && LogSince(logLengthBefore).Contains("could not bind", StringComparison.Ordinal))
            {
                continue;
            }

            throw Failure($"Starting PostgreSQL on port {Port} failed", result);
        }

        if (_options.ApplySqlDirectory)
        {
            await ApplySqlDirectoryAsync(_options.SqlDirectory ?? RepositoryPaths.SqlDirectory, cancellationToken);
        }
    }

    private string BuildSettings()
    {
        var settings = new StringBuilder()
            .Append('\n')
            .Append("# --- Atlas.Cdc.Sandbox (TemporaryPostgres) ---\n")
            .Append("wal_level = logical\n")
            .Append("max_replication_slots = 20\n")
            .Append("max_wal_senders = 20\n")
            .Append("listen_addresses = '127.0.0.1'\n")
            .Append(CultureInfo.InvariantCulture, $"port = {Port}\n")
            .Append(CultureInfo.InvariantCulture, $"unix_socket_directories = '{_baseDirectory.Replace("'", "''", StringComparison.Ordinal)}'\n")
            .Append("max_connections = 200\n")
            .Append("wal_sender_timeout = 60s\n")
            // fsync and synchronous_commit keep their defaults (on): crash-safety tests depend on them.
            ;
        foreach (var (name, value) in _options.ExtraSettings)
        {
            settings.Append(CultureInfo.InvariantCulture, $"{name} = {value}\n");
        }

        return settings.ToString();
    }

    private Task<ProcessResult> StartServerAsync(CancellationToken cancellationToken) =>
        RunToolCheckedAsync(
            "Starting PostgreSQL failed",
            "pg_ctl",
            ["-D", DataDirectory, "-l", LogFile, "-w", "-t", TimeoutSeconds, "start"],
            allowFailure: true,
            cancellationToken: cancellationToken);

    private async Task ApplySqlDirectoryAsync(string directory, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"SQL directory '{directory}' does not exist.");
        }

        foreach (var file in Directory.GetFiles(directory, "*.sql").Order(StringComparer.Ordinal))
        {
            await RunToolCheckedAsync(
                $"Applying {Path.GetFileName(file)} failed",
                "psql",
                [.. PsqlConnectionArguments("postgres"), "-f", file],
                asServerUser: false,
                cancellationToken: cancellationToken);
        }
    }

    private string[] PsqlConnectionArguments(string database) =>
    [
        "-X", "-q", "-v", "ON_ERROR_STOP=1",
        "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperuserName, "-d", database,
    ];

    private async Task<T> WithCommandAsync<T>(string sql, Func<NpgsqlCommand, Task<T>> run, CancellationToken cancellationToken)
    {
        try
        {
            // No pooling: these helpers are used around restarts, and a pooled connection would be stale.
            var builder = new NpgsqlConnectionStringBuilder(SuperuserConnectionString) { Pooling = false, CommandTimeout = 0 };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(sql, connection);
            return await run(command);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new TemporaryPostgresException(
                $"SQL as superuser on port {Port} failed", sql, exitCode: null, ex.Message, ReadLogTail(), ex);
        }
    }

    private Task<ProcessResult> RunToolCheckedAsync(
        string summary,
        string tool,
        string[] arguments,
        string? standardInput = null,
        bool asServerUser = true,
        bool allowFailure = false,
        CancellationToken cancellationToken = default)
    {
        var (fileName, fullArguments) = ToolCommand(_options.BinDirectory, tool, arguments, asServerUser && _runAsServerUser);
        return RunCheckedAsync(summary, fileName, fullArguments, cancellationToken, standardInput, allowFailure);
    }

    private async Task<ProcessResult> RunCheckedAsync(
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
            result = await ProcessRunner.RunAsync(
                fileName, arguments, standardInput, _baseDirectory, _options.CommandTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var command = ProcessRunner.Describe(ProcessRunner.CreateStartInfo(fileName, arguments, null));
            throw new TemporaryPostgresException(summary, command, exitCode: null, ex.Message, ReadLogTail(), ex);
        }

        if (result.ExitCode != 0 && !allowFailure)
        {
            throw Failure(summary, result);
        }

        return result;
    }

    private TemporaryPostgresException Failure(string summary, ProcessResult result) =>
        new(summary, result.Command, result.ExitCode, (result.StandardError + "\n" + result.StandardOutput).Trim(), ReadLogTail());

    private long LogLength() => File.Exists(LogFile) ? new FileInfo(LogFile).Length : 0;

    private string LogSince(long offset)
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private static int FindFreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static (string FileName, string[] Arguments) ToolCommand(string binDirectory, string tool, string[] arguments, bool asServerUser)
    {
        var path = Path.Combine(binDirectory, tool);
        return asServerUser ? ("runuser", ["-u", ServerOsUser, "--", path, .. arguments]) : (path, arguments);
    }

    /// <summary>
    /// Stops whatever server runs in <paramref name="baseDirectory"/> and deletes the directory. Synchronous
    /// and exception-free because it also runs from the process-exit hook.
    /// </summary>
    private static void Reap(string binDirectory, string baseDirectory, bool asServerUser)
    {
        var dataDirectory = Path.Combine(baseDirectory, "data");
        var pidFile = Path.Combine(dataDirectory, PidFileName);
        try
        {
            if (File.Exists(pidFile))
            {
                var (fileName, arguments) = ToolCommand(
                    binDirectory, "pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"], asServerUser);
                var exitCode = ProcessRunner.RunSync(fileName, arguments, baseDirectory, TimeSpan.FromSeconds(40));
                if (exitCode != 0 && File.Exists(pidFile))
                {
                    KillPostmaster(pidFile);
                }
            }
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"Atlas.Cdc.Sandbox: stopping PostgreSQL in {dataDirectory} failed: {ex.Message}");
        }

        DeleteDirectory(baseDirectory);
    }

    private static void KillPostmaster(string pidFile)
    {
        // Last resort when pg_ctl could not stop it: its backends exit by themselves once the postmaster is gone.
        var firstLine = File.ReadLines(pidFile).FirstOrDefault();
        if (int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            try
            {
                using var postmaster = System.Diagnostics.Process.GetProcessById(pid);
                postmaster.Kill();
                postmaster.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (ArgumentException)
            {
                // Not running any more.
            }
        }
    }

    private static void DeleteDirectory(string directory)
    {
        for (var attempt = 1; attempt <= 3 && Directory.Exists(directory); attempt++)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (attempt == 3)
                {
                    Console.Error.WriteLine($"Atlas.Cdc.Sandbox: could not delete {directory}: {ex.Message}");
                }
                else
                {
                    Thread.Sleep(200);
                }
            }
        }
    }

    /// <summary>Removes servers and directories left by processes that died without cleaning up (e.g. SIGKILL).</summary>
    private static void ReapOrphans(string binDirectory)
    {
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*").ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var directory in candidates)
        {
            try
            {
                var ownerFile = Path.Combine(directory, OwnerFileName);
                if (File.Exists(ownerFile))
                {
                    if (OwnerProcess.IsAlive(File.ReadAllText(ownerFile).Trim()))
                    {
                        continue;
                    }
                }
                else if (Directory.GetLastWriteTimeUtc(directory) > DateTime.UtcNow.AddMinutes(-10))
                {
                    // Possibly another process between creating the directory and writing its owner file.
                    continue;
                }

                Reap(binDirectory, directory, Environment.IsPrivilegedProcess);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Someone else's directory, or removed concurrently: not ours to fight over.
            }
        }
    }
}

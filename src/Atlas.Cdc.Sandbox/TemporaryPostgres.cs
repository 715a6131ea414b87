using System.Globalization;
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
/// This type owns the server's lifecycle. The jobs around it each have their own: running the tools as the
/// <c>postgres</c> OS user (<see cref="PostgresTools"/>), SQL as superuser (<see cref="SuperuserSql"/>), reading the
/// server log (<see cref="ServerLog"/>) and cleaning up after crashes (<see cref="PostgresCleanup"/>). fsync stays
/// on: the server is used to test crash safety.
/// </remarks>
public sealed class TemporaryPostgres : IAsyncDisposable
{
    private const string SuperuserName = "postgres";
    private const int PortAttempts = 5;
    private const int LogTailLines = 40;

    private static readonly string[] _stopModes = ["smart", "fast", "immediate"];
    private static int _orphansReaped;

    private readonly TemporaryPostgresOptions _options;
    private readonly string _baseDirectory;
    private readonly ServerLog _log;
    private readonly PostgresTools _tools;
    private readonly SuperuserSql _sql;
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
        DataDirectory = Path.Combine(baseDirectory, "data");
        _log = new ServerLog(Path.Combine(baseDirectory, "postgres.log"));
        _tools = new PostgresTools(options.BinDirectory, baseDirectory, Environment.IsPrivilegedProcess, options.CommandTimeout, _log);
        _sql = new SuperuserSql(() => SuperuserConnectionString, () => Port, _tools.LogTail);
        _exitRegistration = ExitCleanup.Register(() =>
        {
            StopWatchdog();
            PostgresCleanup.Reap(_options.BinDirectory, _baseDirectory, _tools.RunAsServerUser);
        });
    }

    /// <summary>The TCP port on 127.0.0.1; it stays the same across <see cref="StopAsync"/>/<see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>The cluster's data directory (PGDATA).</summary>
    public string DataDirectory { get; }

    /// <summary>The temporary directory holding the data directory, the server log and the Unix socket.</summary>
    public string BaseDirectory => _baseDirectory;

    /// <summary>The server log (pg_ctl <c>-l</c>); its tail is included in every failure.</summary>
    public string LogFile => _log.Path;

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
            PostgresCleanup.ReapOrphans(options.BinDirectory);
        }

        var directory = Directory.CreateTempSubdirectory(PostgresCleanup.DirectoryPrefix).FullName;
        // Written first, so a run killed at any later point is recognisable as dead by the next one.
        await File.WriteAllTextAsync(Path.Combine(directory, PostgresCleanup.OwnerFileName), OwnerProcess.Token, cancellationToken);
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

            var result = await _tools.RunToolAsync(
                "Stopping PostgreSQL failed",
                "pg_ctl",
                ["-D", DataDirectory, "-m", mode, "-w", "-t", _tools.TimeoutSeconds, "stop"],
                allowFailure: true,
                cancellationToken: cancellationToken);
            // A server that died on its own leaves no pid file: that is "stopped", not an error.
            if (result.ExitCode != 0 && File.Exists(Path.Combine(DataDirectory, PostgresCleanup.PidFileName)))
            {
                throw _tools.Failure("Stopping PostgreSQL failed", result);
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
                throw _tools.Failure($"Starting PostgreSQL again on port {Port} failed", result);
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
        _sql.ExecuteAsync(sql, cancellationToken);

    /// <summary>Runs a query as superuser and returns the first column of the first row, converted to <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">Target type; NULL or no row gives <c>default</c>.</typeparam>
    /// <param name="sql">The query.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="PostgresException">The server rejected the SQL.</exception>
    /// <exception cref="TemporaryPostgresException">The server could not be reached.</exception>
    public Task<T?> ScalarAsync<T>(string sql, CancellationToken cancellationToken = default) =>
        _sql.ScalarAsync<T>(sql, cancellationToken);

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
        var result = await _tools.RunToolAsync(
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
    public string ReadLogTail(int lines = LogTailLines) => _log.Tail(lines);

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
            await Task.Run(() => PostgresCleanup.Reap(_options.BinDirectory, _baseDirectory, _tools.RunAsServerUser));
            _running = false;
            NpgsqlConnection.ClearAllPools();
        }
        finally
        {
            _exitRegistration.Dispose();
            _lifecycleLock.Release();
        }
    }

    private string ConfigurationFile => Path.Combine(DataDirectory, "postgresql.conf");

    /// <summary>Arranges for the server to be stopped and the directory deleted if this process dies without disposing.</summary>
    private void StartWatchdog()
    {
        var (stopFile, stopArguments) = PostgresTools.Command(
            _options.BinDirectory,
            "pg_ctl",
            ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"],
            _tools.RunAsServerUser);
        _watchdog = DeathWatchdog.Start(
            "atlas-cdc-pg-watchdog",
            "dir=$1; shift; \"$@\"; rm -rf -- \"$dir\"",
            [_baseDirectory, stopFile, .. stopArguments]);
    }

    // Killed rather than released: this process then does the cleanup itself, synchronously.
    private void StopWatchdog() => DeathWatchdog.Stop(Interlocked.Exchange(ref _watchdog, null));

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_tools.RunAsServerUser)
        {
            await _tools.RunAsync(
                "Giving the temporary directory to the postgres OS user failed",
                "chown",
                ["-R", $"{PostgresTools.ServerOsUser}:{PostgresTools.ServerOsUser}", _baseDirectory],
                cancellationToken);
        }

        await _tools.RunToolAsync(
            "initdb failed",
            "initdb",
            ["-D", DataDirectory, "-A", "trust", "-U", SuperuserName, "--encoding=UTF8", "--locale=C", "--no-instructions"],
            cancellationToken: cancellationToken);
        _initialConfiguration = await File.ReadAllTextAsync(ConfigurationFile, cancellationToken);

        for (var attempt = 1; ; attempt++)
        {
            // The free port is found by binding port 0 and releasing it, so another process can take it before
            // postgres binds it: on "address in use" a new port is tried.
            Port = FreePort.Find();
            await File.WriteAllTextAsync(ConfigurationFile, _initialConfiguration + BuildSettings(), cancellationToken);
            var logLengthBefore = _log.Length;
            var result = await StartServerAsync(cancellationToken);
            if (result.ExitCode == 0)
            {
                _running = true;
                break;
            }

            if (attempt < PortAttempts && _log.Since(logLengthBefore).Contains("could not bind", StringComparison.Ordinal))
            {
                continue;
            }

            throw _tools.Failure($"Starting PostgreSQL on port {Port} failed", result);
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
        _tools.RunToolAsync(
            "Starting PostgreSQL failed",
            "pg_ctl",
            ["-D", DataDirectory, "-l", LogFile, "-w", "-t", _tools.TimeoutSeconds, "start"],
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
            await _tools.RunToolAsync(
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

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Atlas.Cdc.Observability;
using Confluent.SchemaRegistry;

namespace Atlas.Cdc.Schemas;

/// <summary>
/// The latest schema of each subject, compiled once per schema id and used for <c>Cdc:SchemaRegistry:RefreshInterval</c>.
/// A subject seen for the first time is looked up while the publishing loop waits: while the registry is
/// unreachable (or answers 5xx) the lookup is retried with backoff, so later events wait behind it in commit order,
/// reading pauses by backpressure, and nothing is refused. Known subjects are refreshed in the background; a
/// failed refresh keeps the version in use. A subject with no schema is refused (the event is dead-lettered).
/// Called from the publishing loop only (one caller at a time); refreshes swap an entry's schema atomically.
/// </summary>
internal sealed class SchemaCache<T> : IDisposable where T : class
{
    private readonly CachedSchemaRegistryClient _client;
    private readonly Func<RegisteredSchema, T> _compile;
    private readonly TimeSpan _refreshInterval;
    private readonly TimeSpan _firstRetryDelay;
    private readonly TimeSpan _maxRetryDelay;
    private readonly SchemaMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Func<string, string> _redact;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, (T? Compiled, string? Problem)> _compiled = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly Task _registration;
    private volatile string? _unavailable;
    private long _unavailableSince;

    /// <param name="client">Confluent's registry client.</param>
    /// <param name="compile">Turns a registered schema into what encodes values; throws when the schema cannot be used.</param>
    /// <param name="registerFiles">Registers the schema files of Cdc:SchemaRegistry:SchemasPath; awaited before the first lookup.</param>
    public SchemaCache(CachedSchemaRegistryClient client, Func<RegisteredSchema, T> compile, TimeSpan refreshInterval,
        TimeSpan firstRetryDelay, TimeSpan maxRetryDelay, SchemaMetrics metrics, ILogger logger, Func<string, string> redact,
        Func<CancellationToken, Task>? registerFiles = null)
    {
        _client = client;
        _compile = compile;
        _refreshInterval = refreshInterval;
        _firstRetryDelay = firstRetryDelay;
        _maxRetryDelay = maxRetryDelay;
        _metrics = metrics;
        _logger = logger;
        _redact = redact;
        _registration = registerFiles is null ? Task.CompletedTask : Task.Run(() => registerFiles(_disposed.Token));
    }

    /// <summary>Why lookups cannot be answered right now (the registry is unavailable), or null; /readyz reports it.</summary>
    public string? Unavailable => _unavailable;

    /// <summary>
    /// The subject's latest schema, or the reason it has none; waits (retrying) while the registry is unavailable.
    /// Completes synchronously for a known subject.
    /// </summary>
    public ValueTask<SubjectSchema<T>> GetAsync(string subject, CancellationToken cancellationToken)
    {
        if (!_registration.IsCompleted)
            return GetAfterRegistrationAsync(subject, cancellationToken);
        if (!_entries.TryGetValue(subject, out var entry))
        {
            if (_entries.Count > 100_000)
                _entries.Clear(); // subjects are a small set; this only guards against a runaway generator
            _entries[subject] = entry = new Entry(subject, _metrics.For(subject));
        }
        entry.Counts.Lookup();
        if (entry.Current is { } current)
        {
            if (Stopwatch.GetTimestamp() >= Interlocked.Read(ref entry.RefreshAt) && entry.Refreshing is not { IsCompleted: false })
            {
                Interlocked.Exchange(ref entry.RefreshAt, Later(_refreshInterval));
                entry.Refreshing = Task.Run(() => RefreshAsync(entry));
            }
            return ValueTask.FromResult(current);
        }
        return FetchFirstAsync(entry, cancellationToken);
    }

    private async ValueTask<SubjectSchema<T>> GetAfterRegistrationAsync(string subject, CancellationToken cancellationToken)
    {
        await _registration.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(subject, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<SubjectSchema<T>> FetchFirstAsync(Entry entry, CancellationToken cancellationToken)
    {
        var fetched = await FetchWaitingAsync(entry, cancellationToken).ConfigureAwait(false);
        if (fetched.Found)
        {
            entry.Current = fetched;
            Interlocked.Exchange(ref entry.RefreshAt, Later(_refreshInterval));
            _logger.LogInformation("Schema registry: events of subject {Subject} use version {Version} (schema id {SchemaId})", entry.Subject, fetched.Version, fetched.Id);
        }
        return fetched;
    }

    /// <summary>Asks the registry until it answers: the publishing loop (and, behind it, reading) waits meanwhile.</summary>
    private async Task<SubjectSchema<T>> FetchWaitingAsync(Entry entry, CancellationToken cancellationToken)
    {
        var delay = _firstRetryDelay;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var fetched = await FetchAsync(entry).ConfigureAwait(false);
                if (_unavailable is not null)
                {
                    _unavailable = null;
                    _logger.LogInformation("Schema registry answers again after {Seconds:F1} s; publishing resumes",
                        Stopwatch.GetElapsedTime(_unavailableSince).TotalSeconds);
                }
                return fetched;
            }
            catch (RegistryUnavailableException e)
            {
                _metrics.RegistryErrors.Add(1);
                if (_unavailable is null)
                    _unavailableSince = Stopwatch.GetTimestamp();
                _unavailable = $"the schema registry is unavailable ({e.Message})";
                _logger.LogWarning("Schema registry unavailable while looking up subject {Subject}: {Reason}. Publishing waits, in order, " +
                                   "and nothing is dead-lettered; retrying in {Delay}", entry.Subject, e.Message, delay);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _maxRetryDelay.Ticks));
            }
        }
    }

    private async Task RefreshAsync(Entry entry)
    {
        var previous = entry.Current;
        try
        {
            var fetched = await FetchAsync(entry).ConfigureAwait(false);
            entry.Current = fetched.Found ? fetched : null;
            if (fetched.Id != previous?.Id)
                _logger.LogInformation("Schema registry: subject {Subject} now has {Schema}; later events use it", entry.Subject,
                    fetched.Found ? fetched.Describe() : "no schema");
        }
        catch (RegistryUnavailableException e)
        {
            _metrics.RegistryErrors.Add(1);
            Interlocked.Exchange(ref entry.RefreshAt, Later(TimeSpan.FromTicks(Math.Min(_refreshInterval.Ticks, _maxRetryDelay.Ticks))));
            _logger.LogWarning("Schema registry: refreshing subject {Subject} failed ({Reason}); {Schema} stays in use",
                entry.Subject, e.Message, previous?.Describe());
        }
    }

    private async Task<SubjectSchema<T>> FetchAsync(Entry entry)
    {
        entry.Counts.Miss();
        RegisteredSchema latest;
        try
        {
            _client.ClearLatestCaches(); // the client would otherwise keep the first answer forever
            latest = await _client.GetLatestSchemaAsync(entry.Subject).ConfigureAwait(false);
        }
        catch (SchemaRegistryException e) when (e.Status == HttpStatusCode.NotFound && e.ErrorCode is 40401 or 40402)
        {
            return new SubjectSchema<T>(entry.Subject, 0, 0, null, $"subject '{entry.Subject}' has no schema in the registry ({e.Message})");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Unreachable, a timeout, 5xx, or an answer that makes no sense (a proxy's error page): never the event's fault.
            throw new RegistryUnavailableException(_redact(Describe(e)), e);
        }
        var (compiled, problem) = _compiled.GetOrAdd(latest.Id, _ => Compile(latest));
        return new SubjectSchema<T>(entry.Subject, latest.Id, latest.Version, compiled,
            problem is null ? null : $"subject '{entry.Subject}' version {latest.Version} (schema id {latest.Id}) cannot be used: {problem}");
    }

    private (T?, string?) Compile(RegisteredSchema schema)
    {
        try
        {
            return (_compile(schema), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return (null, e.Message);
        }
    }

    private static string Describe(Exception e) => e switch
    {
        SchemaRegistryException registry => $"HTTP {(int)registry.Status}: {registry.Message}",
        TaskCanceledException => "the request timed out",
        _ => e.InnerException is { } inner && e.Message.Length < 20 ? $"{e.Message} {inner.Message}" : e.Message,
    };

    private static long Later(TimeSpan delay) => Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }

    private sealed class Entry(string subject, SchemaMetrics.SubjectCounts counts)
    {
        public string Subject { get; } = subject;

        public SchemaMetrics.SubjectCounts Counts { get; } = counts;

        /// <summary>Swapped whole by a refresh; the publishing loop reads it.</summary>
        public volatile SubjectSchema<T>? Current;

        /// <summary>Stopwatch timestamp after which the next lookup starts a refresh.</summary>
        public long RefreshAt;

        public Task? Refreshing;
    }
}

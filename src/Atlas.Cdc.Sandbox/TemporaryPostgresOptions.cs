namespace Atlas.Cdc.Sandbox;

/// <summary>How <see cref="TemporaryPostgres.StartAsync"/> builds the throwaway server.</summary>
public sealed class TemporaryPostgresOptions
{
    /// <summary>
    /// Extra postgresql.conf settings, appended after the defaults (so they win), each written verbatim as
    /// <c>name = value</c>: quote string values yourself, e.g. <c>["log_line_prefix"] = "'%m [%p] '"</c>.
    /// </summary>
    public IDictionary<string, string> ExtraSettings { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Apply every <c>*.sql</c> file of <see cref="SqlDirectory"/> (in ordinal name order) to database
    /// <c>postgres</c> as superuser after start. Default true: the server then looks like a provisioned source.
    /// </summary>
    public bool ApplySqlDirectory { get; init; } = true;

    /// <summary>The folder applied when <see cref="ApplySqlDirectory"/> is set; null means the repository's <c>sql/</c>.</summary>
    public string? SqlDirectory { get; init; }

    /// <summary>Where initdb, pg_ctl and psql live.</summary>
    public string BinDirectory { get; init; } = "/usr/lib/postgresql/15/bin";

    /// <summary>Upper bound for initdb, server start/stop and each psql run.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(120);
}

using System.Diagnostics;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Postgres;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Atlas.Cdc.Offsets;

/// <summary>
/// Records the delivery horizon every few seconds while this relay streams, whether or not retention is enabled:
/// after a lost slot, the relay publishes again only the rows above it.
/// </summary>
internal sealed class ProgressRecorder(
    IOptions<CdcOptions> optionsAccessor,
    DeliveryProgress progress,
    StreamStatus status,
    ILogger<ProgressRecorder> logger) : BackgroundService
{
    /// <summary>How often a horizon is proposed and proven; a recovery publishes again at most about this much more.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan s_errorLogInterval = TimeSpan.FromMinutes(10);

    private readonly CdcOptions _options = optionsAccessor.Value;
    private long _lastErrorLogged = long.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        DeliveryHorizon? logged = null;
        while (await timer.TickAsync(stoppingToken) && !stoppingToken.IsCancellationRequested)
        {
            if (!status.IsStreaming)
                continue;
            try
            {
                await using var connection = new NpgsqlConnection(PostgresConnectionStrings.ForQueries(_options.Postgres.ConnectionString));
                await connection.OpenAsync(stoppingToken);
                var recorded = await progress.ProveAsync(connection, stoppingToken);
                if (recorded != logged)
                    logger.LogDebug("Delivery horizon of slot {Slot} recorded: {Horizon}", _options.Slot, recorded);
                logged = recorded;
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var now = Stopwatch.GetTimestamp();
                if (_lastErrorLogged == long.MinValue || Stopwatch.GetElapsedTime(_lastErrorLogged, now) >= s_errorLogInterval)
                {
                    _lastErrorLogged = now;
                    logger.LogWarning("Recording the delivery horizon of slot {Slot} failed, retrying every {Interval}: {Reason}",
                        _options.Slot, Interval, PostgresFailures.Describe(e));
                }
            }
        }
    }
}

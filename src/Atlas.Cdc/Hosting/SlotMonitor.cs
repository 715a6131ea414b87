using Atlas.Cdc.Configuration;
using Atlas.Cdc.Postgres;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Atlas.Cdc.Hosting;

/// <summary>Reads the slot's position and the server's WAL position on an interval, for the lag and retained-WAL metrics.</summary>
internal sealed class SlotMonitor(IOptions<CdcOptions> optionsAccessor, RelayStatus status, ILogger<SlotMonitor> logger) : BackgroundService
{
    private readonly CdcOptions _options = optionsAccessor.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = PostgresConnectionStrings.ForQueries(_options.Postgres.ConnectionString);
        using var timer = new PeriodicTimer(_options.Postgres.SlotStatsInterval);
        do
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                var slot = await SlotCatalog.ReadAsync(connection, _options.Slot, stoppingToken);
                if (slot.Exists && slot.RestartLsn != 0 && slot.ServerWalLsn != 0)
                    status.SetSlotStats(slot.ServerWalLsn, slot.RestartLsn, slot.ConfirmedFlushLsn);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogDebug("Slot statistics unavailable: {Reason}", PostgresFailures.Describe(e));
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: a failed connection attempt (not only a cancelled one) is no error worth a stack trace.
                return;
            }
        }
        while (await timer.TickAsync(stoppingToken)
               && !stoppingToken.IsCancellationRequested);
    }
}

using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;
using Atlas.Cdc.Replication;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

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
                await using var command = new NpgsqlCommand(
                    "SELECT pg_current_wal_lsn(), restart_lsn, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = _options.Slot });
                await using var reader = await command.ExecuteReaderAsync(stoppingToken);
                if (await reader.ReadAsync(stoppingToken) && !reader.IsDBNull(1))
                {
                    status.SetSlotStats(
                        (ulong)reader.GetFieldValue<NpgsqlLogSequenceNumber>(0),
                        (ulong)reader.GetFieldValue<NpgsqlLogSequenceNumber>(1),
                        reader.IsDBNull(2) ? 0 : (ulong)reader.GetFieldValue<NpgsqlLogSequenceNumber>(2));
                }
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

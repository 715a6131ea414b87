using System.Diagnostics;
using System.Globalization;
using Atlas.Cdc.Sandbox;
using Npgsql;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Looks at a scenario's durable progress and slot, and at a relay's counters, for the recovery tests.</summary>
internal static class RecoveryProbe
{
    /// <summary>The slot's row in atlas_cdc_progress: (horizon xid or null, pending or null), or null when there is none.</summary>
    public static async Task<(ulong? HorizonXid, string? Pending)?> ProgressAsync(RelayScenario scenario)
    {
        await using var connection = await scenario.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT horizon_xid::text, pending FROM public.atlas_cdc_progress WHERE slot_name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = scenario.Slot });
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
            return null;
        return (reader.IsDBNull(0) ? null : ulong.Parse(reader.GetString(0), CultureInfo.InvariantCulture), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    /// <summary>Waits until a delivery horizon at least as new as every transaction committed so far is recorded.</summary>
    public static async Task<ulong> WaitForHorizonAsync(RelayScenario scenario, TimeSpan? timeout = null)
    {
        var target = ulong.Parse(await scenario.ScalarAsync<string>("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"), CultureInfo.InvariantCulture);
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var progress = await ProgressAsync(scenario);
            if (progress is { HorizonXid: { } xid, Pending: null } && xid >= target)
                return xid;
            if (stopwatch.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
                throw new TimeoutException($"no delivery horizon at or above xid {target} was recorded for slot {scenario.Slot} within {timeout ?? TimeSpan.FromSeconds(30)}; progress row: {progress}");
            await Task.Delay(200);
        }
    }

    public static async Task DropSlotAsync(RelayScenario scenario)
    {
        await using var connection = await scenario.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_drop_replication_slot($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = scenario.Slot });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A counter or gauge of the relay's /metrics, summed over its label sets (0 when absent).</summary>
    public static async Task<double> MetricAsync(RelayProcess relay, string name)
    {
        var total = 0.0;
        foreach (var line in (await relay.GetTextAsync("/metrics")).Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal) || line.StartsWith(name + "{", StringComparison.Ordinal))
                total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        return total;
    }

    /// <summary>Waits until the relay has published at least <paramref name="events"/> events, as its /metrics says.</summary>
    public static async Task WaitForPublishedAsync(RelayProcess relay, double events, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        double seen = 0;
        while (stopwatch.Elapsed < timeout)
        {
            if (relay.HasExited)
                throw new InvalidOperationException($"The relay exited:\n{relay.Output}");
            try
            {
                seen = await MetricAsync(relay, "atlas_cdc_events_published_total");
                if (seen >= events)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"the relay published {seen} events, not {events}, within {timeout}:\n{RelayProbe.Tail(relay.Output)}");
    }

    /// <summary>Lines of a relay's output that contain <paramref name="text"/>.</summary>
    public static List<string> Lines(RelayProcess relay, string text) =>
        [.. relay.Output.Split('\n').Where(line => line.Contains(text, StringComparison.Ordinal))];

    /// <summary>Makes every broker answer after <paramref name="roundTrip"/>, so that publishing takes long enough to watch or interrupt; disposing restores them.</summary>
    public static IDisposable SlowKafka(MockKafkaCluster kafka, TimeSpan roundTrip)
    {
        for (var id = 1; id <= kafka.BrokerCount; id++)
            kafka.SetRoundTripTime(id, roundTrip);
        return new Restore(kafka);
    }

    private sealed class Restore(MockKafkaCluster kafka) : IDisposable
    {
        public void Dispose()
        {
            for (var id = 1; id <= kafka.BrokerCount; id++)
                kafka.SetRoundTripTime(id, TimeSpan.Zero);
        }
    }
}

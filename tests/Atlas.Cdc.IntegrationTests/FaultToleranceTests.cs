using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Faults under load, done for real: every Kafka broker set down through the mock cluster's API, the shared
/// PostgreSQL server restarted, the replication connection terminated. Each test then checks that every committed
/// event arrived, in commit order per key, and prints the duplicates the fault cost.
/// </summary>
[Collection(CdcCollection.Name)]
public class FaultToleranceTests(CdcEnvironment environment, ITestOutputHelper output)
{
    [Fact]
    public async Task All_brokers_down_for_20_seconds_under_load_relay_stays_up_not_ready_and_resumes_by_itself_without_loss()
    {
        await using var scenario = await environment.CreateScenarioAsync("outage");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__Kafka__UnhealthyAfter"] = "00:00:05" });
        await using var load = WriterLoad.Start(scenario, "Load");
        await load.WaitForMoreAsync(600);

        var outage = Stopwatch.StartNew();
        TimeSpan notReadyAfter;
        var committedBefore = load.Committed;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            notReadyAfter = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15));
            output.WriteLine($"/readyz answered 503 {notReadyAfter.TotalSeconds:F1} s into the outage: {await RelayProbe.ReadinessAsync(relay)}");
            while (outage.Elapsed < TimeSpan.FromSeconds(20))
            {
                Assert.False(relay.HasExited, $"the relay exited during the broker outage:\n{relay.Output}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, await relay.GetStatusAsync("/readyz"));
                await Task.Delay(500);
            }
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
            outage.Stop();
        }
        var writtenDuringOutage = load.Committed - committedBefore;

        var recovery = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        await load.WaitForMoreAsync(600);
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));
        Assert.False(relay.HasExited);
        Assert.True(recovery < TimeSpan.FromSeconds(5), $"the relay was ready again only {recovery} after the brokers returned");
        output.WriteLine($"outage {outage.Elapsed.TotalSeconds:F1} s; {writtenDuringOutage} events committed during it; ready again " +
                         $"{recovery.TotalSeconds:F1} s after the brokers returned; {delivery.Committed} events, " +
                         $"{delivery.Duplicates} duplicates; max insert latency {load.MaxLatency.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Broker_outage_long_enough_to_fill_the_in_flight_limit_pauses_reading_and_resumes_without_loss()
    {
        await using var scenario = await environment.CreateScenarioAsync("backpressure");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__MaxInFlightEvents"] = "1000" });
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2);
        await load.WaitForMoreAsync(300);

        double decodedWhilePaused, committedWhilePaused;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            // The limit fills up (the writers commit about 300 events a second)...
            var stopwatch = Stopwatch.StartNew();
            while (await RelayProbe.MetricAsync(relay, "atlas_cdc_events_in_flight") < 1000)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), "1000 events were not in flight 15 s into the outage");
                await Task.Delay(100);
            }
            // ...then reading pauses: for 12 s, longer than Npgsql's 10 s status interval, the relay decodes no
            // transaction while the writers keep committing, and the replication connection is kept.
            var transactionsBefore = (await RelayProbe.MetricAsync(relay, "atlas_cdc_transactions_total"))!.Value;
            var committedBefore = load.Committed;
            await Task.Delay(TimeSpan.FromSeconds(12));
            var metrics = await relay.GetTextAsync("/metrics");
            decodedWhilePaused = RelayProbe.Metric(metrics, "atlas_cdc_transactions_total")!.Value - transactionsBefore;
            committedWhilePaused = load.Committed - committedBefore;
            Assert.Equal(1000, RelayProbe.Metric(metrics, "atlas_cdc_events_in_flight"));
            Assert.Equal(0, decodedWhilePaused);
            Assert.True(committedWhilePaused > 1000, $"only {committedWhilePaused} events were committed while reading was paused");
            Assert.Equal(0, RelayProbe.Metric(metrics, "atlas_cdc_reconnects_total"));
            Assert.False(relay.HasExited, relay.Output);
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        await load.WaitForMoreAsync(300);
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));
        Assert.Equal(0, await RelayProbe.MetricAsync(relay, "atlas_cdc_reconnects_total"));
        output.WriteLine($"reading paused for 12 s at 1000 events in flight: 0 transactions decoded while {committedWhilePaused} events were committed; " +
                         $"{delivery.Committed} events, {delivery.Duplicates} duplicates, no reconnect");
    }

    [Fact]
    public async Task Postgres_restart_during_a_broker_outage_loses_nothing_and_keeps_order()
    {
        await using var scenario = await environment.CreateScenarioAsync("combined");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        await using var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__ShutdownTimeout"] = "00:00:05" });
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2);
        await load.WaitForMoreAsync(300);

        TimeSpan stopped;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            // The walsender waits at shutdown until the relay confirms all it sent, which it cannot while Kafka
            // is down: the relay must let go, or pg_ctl stop hangs.
            var stopwatch = Stopwatch.StartNew();
            await environment.Postgres.StopAsync();
            stopped = stopwatch.Elapsed;
            await environment.Postgres.StartAgainAsync();
            await Task.Delay(TimeSpan.FromSeconds(8));
            Assert.False(relay.HasExited, relay.Output);
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        await load.WaitForMoreAsync(300);
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));
        Assert.True(stopped < TimeSpan.FromSeconds(15), $"pg_ctl stop -m fast took {stopped} with the relay connected");
        output.WriteLine($"pg_ctl stop -m fast took {stopped.TotalSeconds:F1} s during the broker outage; " +
                         $"{delivery.Committed} events, {delivery.Duplicates} duplicates");
    }

    private static long PublishedSoFar(string metrics, string prefix) =>
        metrics.Split('\n').FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal)) is { } line
            ? (long)double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    [Fact]
    public async Task Two_postgres_restarts_under_load_relay_reconnects_and_resumes_from_the_slot_without_loss()
    {
        await using var scenario = await environment.CreateScenarioAsync("pgrestart");
        var topic = scenario.Topic("Load");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        await using var relay = await scenario.StartReadyRelayAsync();
        await using var load = WriterLoad.Start(scenario, "Load");
        await load.WaitForMoreAsync(600);

        var previousDuplicates = 0;
        foreach (var mode in new[] { "fast", "immediate" })
        {
            var restart = Stopwatch.StartNew();
            await environment.Postgres.RestartAsync(mode);
            var serverDown = restart.Elapsed;
            var ready = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(30));
            await load.WaitForMoreAsync(600);

            var marker = await scenario.InsertAsync(new OutboxRow("Load", "marker", "Marker", "{}"));
            var records = await scenario.WaitForEventsAsync([topic], marker);
            var duplicates = OrderAssertions.Duplicates(records);
            output.WriteLine($"restart ({mode}): pg_ctl stop+start took {serverDown.TotalSeconds:F1} s; relay ready {ready.TotalSeconds:F1} s later; " +
                             $"{duplicates - previousDuplicates} duplicates from this restart");
            previousDuplicates = duplicates;
        }

        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(90));
        Assert.False(relay.HasExited, $"the relay exited:\n{relay.Output}");
        output.WriteLine($"{delivery.Committed} events, {delivery.Duplicates} duplicates in all; " +
                         $"{load.Failures} failed inserts while the server was down");
    }

    [Fact]
    public async Task Terminated_replication_connection_is_reconnected_without_loss()
    {
        await using var scenario = await environment.CreateScenarioAsync("terminate");
        var topic = scenario.Topic("Load");
        await using var relay = await scenario.StartReadyRelayAsync();
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2);
        await load.WaitForMoreAsync(300);

        var terminated = await scenario.ScalarAsync<bool>(
            $"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '{scenario.Slot}'");
        Assert.True(terminated);
        await load.WaitForMoreAsync(300);
        var ready = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(30));

        var delivery = await load.StopAndCheckDeliveryAsync(topic);
        Assert.Contains("Reconnecting", relay.Output, StringComparison.Ordinal);
        output.WriteLine($"ready again within {ready.TotalSeconds:F1} s; {delivery.Duplicates} duplicates");
    }

    [Fact]
    public async Task Relay_started_while_postgres_is_down_keeps_retrying_and_streams_once_it_is_up()
    {
        await using var scenario = await environment.CreateScenarioAsync("pgdown");
        await environment.Postgres.StopAsync();
        var relay = scenario.StartRelay();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(6));
            Assert.False(relay.HasExited, $"connection refused must not be fatal:\n{relay.Output}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await relay.GetStatusAsync("/readyz"));
            Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/healthz"));
        }
        finally
        {
            await environment.Postgres.StartAgainAsync();
        }

        var ready = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        var ids = await scenario.InsertAsync(RelayCoreTests.Rows("Late", 10));
        await scenario.WaitForEventsAsync([scenario.Topic("Late")], ids);
        output.WriteLine($"streaming {ready.TotalSeconds:F1} s after PostgreSQL came back");
    }

    [Fact]
    public async Task Sigterm_under_load_leaves_the_slot_confirmed_where_the_relay_drained_to()
    {
        await using var scenario = await environment.CreateScenarioAsync("drainconfirm");
        await using var load = WriterLoad.Start(scenario, "Load", writers: 2);
        for (var round = 1; round <= 5; round++)
        {
            var relay = await scenario.StartReadyRelayAsync();
            await load.WaitForMoreAsync(300);
            Assert.Equal(0, await relay.TerminateAsync(TimeSpan.FromSeconds(30)));

            // What the relay says it confirmed is what PostgreSQL has, or a restart would resend events.
            var drained = Assert.Single(relay.Output.Split('\n'), line => line.Contains("Drained:", StringComparison.Ordinal));
            var claimed = NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(drained[(drained.LastIndexOf(' ') + 1)..].Trim());
            var confirmed = await scenario.ConfirmedLsnAsync();
            Assert.True(confirmed >= claimed, $"round {round}: the relay drained to {claimed}, the slot is confirmed to {confirmed}");
        }
    }

    [Fact]
    public async Task Sigterm_while_a_large_transaction_is_being_read_finishes_it_so_a_restart_sends_no_duplicates()
    {
        await using var scenario = await environment.CreateScenarioAsync("sigtermbulk");
        var topic = scenario.Topic("Bulk");
        environment.Kafka.CreateTopic(topic, partitions: 8);
        var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__MaxInFlightEvents"] = "200" });
        List<Sandbox.KafkaRecord> first;
        // Slow acknowledgements and a small in-flight limit keep the reader inside the transaction for seconds.
        for (var broker = 1; broker <= environment.Kafka.BrokerCount; broker++)
            environment.Kafka.SetRoundTripTime(broker, TimeSpan.FromMilliseconds(50));
        try
        {
            await scenario.ScalarAsync<int>(
                "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) " +
                "SELECT 'Bulk', 'bulk-' || (i % 10), 'Loaded', jsonb_build_object('i', i) FROM generate_series(1, 20000) AS i; SELECT 1");

            // SIGTERM once the relay is inside the transaction: it has published some of it, not all.
            var stopwatch = Stopwatch.StartNew();
            var prefix = $"atlas_cdc_events_published_total{{topic=\"{topic}\"}} ";
            long published;
            while ((published = PublishedSoFar(await relay.GetTextAsync("/metrics"), prefix)) < 1000)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), "the relay published almost nothing of the transaction");
                await Task.Delay(20);
            }
            Assert.Equal(0, await relay.TerminateAsync(TimeSpan.FromSeconds(60)));
            Assert.InRange(published, 1000, 15_000); // SIGTERM really came in the middle
            first = await scenario.ReadTopicAsync(topic);
            output.WriteLine($"SIGTERM after {published} of 20,000 events were published");
        }
        finally
        {
            for (var broker = 1; broker <= environment.Kafka.BrokerCount; broker++)
                environment.Kafka.SetRoundTripTime(broker, TimeSpan.Zero);
        }

        await using var restarted = await scenario.StartReadyRelayAsync();
        var ids = (await scenario.ScalarAsync<Guid[]>("SELECT array_agg(id) FROM public.outbox")).ToList();
        var records = await scenario.WaitForEventsAsync([topic], ids);
        Assert.Equal(0, OrderAssertions.Duplicates(records));
        output.WriteLine($"SIGTERM inside a 20,000-row transaction: {first.Count} events delivered before exit, {records.Count} in all, no duplicates");
    }

    [Fact]
    public async Task Sigterm_while_postgres_is_down_exits_promptly()
    {
        await using var scenario = await environment.CreateScenarioAsync("termpgdown");
        var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__ShutdownTimeout"] = "00:00:03" });
        TimeSpan exit;
        int exitCode;
        await environment.Postgres.StopAsync();
        try
        {
            await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10));
            await Task.Delay(TimeSpan.FromSeconds(2)); // reconnecting, with backoff
            var stopwatch = Stopwatch.StartNew();
            exitCode = await relay.TerminateAsync(TimeSpan.FromSeconds(30));
            exit = stopwatch.Elapsed;
        }
        finally
        {
            await environment.Postgres.StartAgainAsync();
        }
        Assert.True(exit < TimeSpan.FromSeconds(3 + 10), $"SIGTERM took {exit} with Cdc:ShutdownTimeout=3s:\n{relay.Output}");
        Assert.True(exitCode == 0, $"exit code {exitCode} after SIGTERM, not 0:\n{RelayProbe.Tail(relay.Output)}");
        output.WriteLine($"SIGTERM while PostgreSQL was down: exit code {exitCode} after {exit.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Sigterm_during_a_broker_outage_exits_within_the_shutdown_timeout_without_confirming_unacknowledged_events()
    {
        await using var scenario = await environment.CreateScenarioAsync("termoutage");
        var topic = scenario.Topic("Held");
        var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string> { ["Cdc__ShutdownTimeout"] = "00:00:03" });
        var delivered = await scenario.InsertAsync(RelayCoreTests.Rows("Held", 20));
        await scenario.WaitForEventsAsync([topic], delivered);

        List<Guid> held;
        TimeSpan exit;
        NpgsqlTypes.NpgsqlLogSequenceNumber beforeOutageEvents;
        int exitCode;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            beforeOutageEvents = await scenario.CurrentWalLsnAsync();
            held = await scenario.InsertAsync(RelayCoreTests.Rows("Held", 100));
            // Let the relay read them: they are in flight, unacknowledged, when SIGTERM arrives.
            var reading = Stopwatch.StartNew();
            while (await RelayProbe.MetricAsync(relay, "atlas_cdc_events_in_flight") < held.Count)
            {
                Assert.True(reading.Elapsed < TimeSpan.FromSeconds(20), "the relay did not read the 100 events within 20 s");
                await Task.Delay(50);
            }
            Assert.Equal(held.Count, await RelayProbe.MetricAsync(relay, "atlas_cdc_events_in_flight"));
            var stopwatch = Stopwatch.StartNew();
            exitCode = await relay.TerminateAsync(TimeSpan.FromSeconds(30));
            exit = stopwatch.Elapsed;
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        Assert.True(exit < TimeSpan.FromSeconds(3 + 10), $"SIGTERM took {exit} with Cdc:ShutdownTimeout=3s:\n{relay.Output}");
        Assert.True(exitCode == 0, $"exit code {exitCode} after SIGTERM, not 0:\n{RelayProbe.Tail(relay.Output)}");
        Assert.Contains("Shutdown timeout 00:00:03 passed with 100 events unacknowledged", relay.Output, StringComparison.Ordinal);
        var confirmed = await scenario.ConfirmedLsnAsync();
        Assert.True(confirmed <= beforeOutageEvents,
            $"the slot was confirmed to {confirmed}, past the unacknowledged events committed after {beforeOutageEvents}");

        await using var restarted = await scenario.StartReadyRelayAsync();
        var records = await scenario.WaitForEventsAsync([topic], [.. delivered, .. held]);
        output.WriteLine($"SIGTERM during the outage: exit code {exitCode} after {exit.TotalSeconds:F1} s (Cdc:ShutdownTimeout 3 s); " +
                         $"after restart {records.Count} records for {delivered.Count + held.Count} events");
    }
}

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
        var published = $"atlas_cdc_events_published_total{{outbox=\"default\",topic=\"{topic}\"}} ";
        long publishedInOutage;
        var committedBefore = load.Committed;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            notReadyAfter = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(60));
            output.WriteLine($"/readyz answered 503 {notReadyAfter.TotalSeconds:F1} s into the outage: {await RelayProbe.ReadinessAsync(relay)}");
            while (outage.Elapsed < TimeSpan.FromSeconds(20))
            {
                Assert.False(relay.HasExited, $"the relay exited during the broker outage:\n{relay.Output}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, await relay.GetStatusAsync("/readyz"));
                await Task.Delay(500);
            }
            publishedInOutage = PublishedSoFar(await relay.GetTextAsync("/metrics"), published);
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
            outage.Stop();
        }
        // The relay resumes by itself, without waiting out a long backoff: Kafka acknowledges again soon
        // (reconnect.backoff.max.ms=1000). That, not draining the backlog, is what is timed; a loaded machine takes
        // longer to drain, so readiness (the backlog older than Cdc:Kafka:UnhealthyAfter acknowledged) only has a deadline.
        var resumed = await Poll.UntilAsync("Kafka acknowledges again after the brokers returned",
            async () => PublishedSoFar(await relay.GetTextAsync("/metrics"), published) > publishedInOutage,
            TimeSpan.FromSeconds(60), async () => $"{publishedInOutage} published before; {await RelayProbe.ReadinessAsync(relay)}");
        var writtenDuringOutage = load.Committed - committedBefore;

        var recovery = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(120));
        await load.WaitForMoreAsync(600, TimeSpan.FromSeconds(120));
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(180));
        Assert.False(relay.HasExited);
        Assert.True(resumed < TimeSpan.FromSeconds(10),
            $"Kafka acknowledged nothing for {Durations.Format(resumed)} after the brokers returned (reconnect backoff is at most 1 s)");
        output.WriteLine($"outage {outage.Elapsed.TotalSeconds:F1} s; {writtenDuringOutage} events committed during it; acknowledging again " +
                         $"{resumed.TotalSeconds:F1} s and ready again {recovery.TotalSeconds:F1} s after the brokers returned; {delivery.Committed} events, " +
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
            // Reading pauses once the limit is reached (however long the writers take to get there on this machine),
            // and stays paused for longer than Npgsql's 10 s status interval, checked all along: the relay decodes no
            // transaction while the writers keep committing, and the replication connection is kept.
            var reached = await Poll.UntilAsync("1000 events in flight (Cdc:MaxInFlightEvents) during the outage",
                async () => InFlight(await relay.GetTextAsync("/metrics")) >= 1000, TimeSpan.FromSeconds(120),
                async () => $"{InFlight(await relay.GetTextAsync("/metrics"))} in flight, {load.Committed} committed");
            var transactionsBefore = (await RelayProbe.MetricAsync(relay, "atlas_cdc_transactions_total"))!.Value;
            var committedBefore = load.Committed;
            await Poll.ThroughoutAsync(TimeSpan.FromSeconds(12), async () =>
            {
                Assert.False(relay.HasExited, relay.Output);
                Assert.Equal(1000, InFlight(await relay.GetTextAsync("/metrics")));
            });
            var metrics = await relay.GetTextAsync("/metrics");
            decodedWhilePaused = RelayProbe.Metric(metrics, "atlas_cdc_transactions_total")!.Value - transactionsBefore;
            committedWhilePaused = load.Committed - committedBefore;
            Assert.Equal(0, decodedWhilePaused);
            Assert.True(committedWhilePaused > 0, "no event was committed while reading was paused: the check proves nothing");
            Assert.Equal(0, RelayProbe.Metric(metrics, "atlas_cdc_reconnects_total"));
            output.WriteLine($"in-flight limit reached {reached.TotalSeconds:F1} s into the outage, held 12 s");
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(120));
        await load.WaitForMoreAsync(300, TimeSpan.FromSeconds(120));
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(180));
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
            await Poll.UntilAsync("events in flight while the brokers are down",
                async () => InFlight(await relay.GetTextAsync("/metrics")) > 0, TimeSpan.FromSeconds(60),
                async () => $"{InFlight(await relay.GetTextAsync("/metrics"))} in flight, {load.Committed} committed");
            // The walsender waits at shutdown until the relay confirms all it sent, which it cannot while Kafka
            // is down: the relay must let go, or pg_ctl stop hangs.
            var stopwatch = Stopwatch.StartNew();
            await environment.Postgres.StopAsync();
            stopped = stopwatch.Elapsed;
            await environment.Postgres.StartAgainAsync();
            // The relay reconnects to the restarted server while Kafka is still down.
            await Poll.UntilAsync("the relay holds the slot again on the restarted server", scenario.SlotActiveAsync, TimeSpan.FromSeconds(120),
                () => Task.FromResult(relay.HasExited ? $"the relay exited:\n{relay.Output}" : RelayProbe.Tail(relay.Output, 10)));
            Assert.False(relay.HasExited, relay.Output);
        }
        finally
        {
            environment.Kafka.SetAllBrokersUp();
        }

        await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(120));
        await load.WaitForMoreAsync(300, TimeSpan.FromSeconds(120));
        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(180));
        Assert.True(stopped < TimeSpan.FromSeconds(15), $"pg_ctl stop -m fast took {Durations.Format(stopped)} with the relay connected");
        output.WriteLine($"pg_ctl stop -m fast took {stopped.TotalSeconds:F1} s during the broker outage; " +
                         $"{delivery.Committed} events, {delivery.Duplicates} duplicates");
    }

    private static long PublishedSoFar(string metrics, string prefix) =>
        metrics.Split('\n').FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal)) is { } line
            ? (long)double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    private static long InFlight(string metrics) => PublishedSoFar(metrics, "atlas_cdc_events_in_flight ");

    private static string Line(string text, string prefix) =>
        text.Split('\n').FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal)) ?? $"{prefix} (absent)";

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
        var ready = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(60));

        var delivery = await load.StopAndCheckDeliveryAsync(topic, TimeSpan.FromSeconds(180));
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
            // Connection refused is retried with backoff: wait for two retries, whatever time they take.
            await Poll.UntilAsync("two reconnect attempts while PostgreSQL is down",
                () => Task.FromResult(relay.HasExited || relay.Output.Split('\n').Count(l => l.Contains("Reconnecting in", StringComparison.Ordinal)) >= 2),
                TimeSpan.FromSeconds(60), () => Task.FromResult(RelayProbe.Tail(relay.Output, 10)));
            Assert.False(relay.HasExited, $"connection refused must not be fatal:\n{relay.Output}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await relay.GetStatusAsync("/readyz"));
            Assert.Equal(HttpStatusCode.OK, await relay.GetStatusAsync("/healthz"));
        }
        finally
        {
            await environment.Postgres.StartAgainAsync();
        }

        var ready = await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.OK, TimeSpan.FromSeconds(60));
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
        // The rest of the transaction (up to 19,000 events at 50 ms round trips) must be published within
        // Cdc:ShutdownTimeout: the default 20 s is tight on a loaded machine, so this test gives it minutes.
        var relay = await scenario.StartReadyRelayAsync(new Dictionary<string, string>
        {
            ["Cdc__MaxInFlightEvents"] = "200",
            ["Cdc__ShutdownTimeout"] = "00:03:00",
        });
        List<Sandbox.KafkaRecord> first;
        // Slow acknowledgements and a small in-flight limit keep the reader inside the transaction for seconds.
        using (RecoveryProbe.SlowKafka(environment.Kafka, TimeSpan.FromMilliseconds(50)))
        {
            await scenario.ScalarAsync<int>(
                "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) " +
                "SELECT 'Bulk', 'bulk-' || (i % 10), 'Loaded', jsonb_build_object('i', i) FROM generate_series(1, 20000) AS i; SELECT 1");

            // SIGTERM once the relay is inside the transaction: it has published some of it, not all.
            var stopwatch = Stopwatch.StartNew();
            var prefix = $"atlas_cdc_events_published_total{{outbox=\"default\",topic=\"{topic}\"}} ";
            long published;
            while ((published = PublishedSoFar(await relay.GetTextAsync("/metrics"), prefix)) < 1000)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(120), $"the relay published {published} events of the transaction in 120 s");
                await Task.Delay(20);
            }
            Assert.Equal(0, await relay.TerminateAsync(TimeSpan.FromSeconds(240)));
            Assert.InRange(published, 1000, 15_000); // SIGTERM really came in the middle
            first = await scenario.ReadTopicAsync(topic);
            output.WriteLine($"SIGTERM after {published} of 20,000 events were published");
        }

        await using var restarted = await scenario.StartReadyRelayAsync();
        var ids = (await scenario.ScalarAsync<Guid[]>("SELECT array_agg(id) FROM public.outbox")).ToList();
        var records = await scenario.WaitForEventsAsync([topic], ids, TimeSpan.FromSeconds(120));
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
            await RelayProbe.WaitForStatusAsync(relay, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(60));
            await Poll.UntilAsync("the relay reconnecting with backoff", () => Task.FromResult(relay.Output.Contains("Reconnecting in", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(60), () => Task.FromResult(RelayProbe.Tail(relay.Output, 10)));
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
        int exitCode;
        environment.Kafka.SetAllBrokersDown();
        try
        {
            held = await scenario.InsertAsync(RelayCoreTests.Rows("Held", 100));
            // Let the relay read them: they are in flight, unacknowledged, when SIGTERM arrives.
            await Poll.UntilAsync("the 100 events in flight during the outage",
                async () => InFlight(await relay.GetTextAsync("/metrics")) >= 100, TimeSpan.FromSeconds(60),
                async () => $"{InFlight(await relay.GetTextAsync("/metrics"))} in flight; {await RelayProbe.ReadinessAsync(relay)}");
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
        Assert.Contains("Shutdown timeout 3 s passed with 100 events unacknowledged", relay.Output, StringComparison.Ordinal);
        var confirmed = await scenario.ConfirmedLsnAsync();

        await using var restarted = await scenario.StartReadyRelayAsync();
        var records = await scenario.WaitForEventsAsync([topic], [.. delivered, .. held]);
        // The held transaction is sent again only if the slot stayed at or before its commit record. While nothing
        // was in flight the relay may have confirmed a keepalive position past where the transaction began (safe,
        // and not the same thing): the commit the events carry is what to compare with.
        var heldIds = held.Select(id => id.ToString()).ToHashSet();
        var heldCommit = records.Where(r => heldIds.Contains(r.Header("id")!))
            .Select(r => NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(r.Header("atlas.commit_lsn")!)).Min();
        Assert.True(confirmed <= heldCommit,
            $"at exit the slot was confirmed to {confirmed}, past the commit at {heldCommit} of the events Kafka had not acknowledged");
        output.WriteLine($"SIGTERM during the outage: exit code {exitCode} after {exit.TotalSeconds:F1} s (Cdc:ShutdownTimeout 3 s); " +
                         $"after restart {records.Count} records for {delivered.Count + held.Count} events");
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Observability;
using Prometheus;

namespace Atlas.Cdc.UnitTests;

public partial class RelayMetricsTests
{
    /// <summary>What the dashboard, the alert rules and docs/observability.md rely on, with its Prometheus type.</summary>
    public static TheoryData<string, string> ContractMetrics => new()
    {
        { "atlas_cdc_events_published_total", "counter" },
        { "atlas_cdc_events_dead_lettered_total", "counter" },
        { "atlas_cdc_publish_errors_total", "counter" },
        { "atlas_cdc_header_warnings_total", "counter" },
        { "atlas_cdc_reconnects_total", "counter" },
        { "atlas_cdc_transactions_total", "counter" },
        { "atlas_cdc_outbox_rows_deleted_total", "counter" },
        { "atlas_cdc_retention_errors_total", "counter" },
        { "atlas_cdc_events_in_flight", "gauge" },
        { "atlas_cdc_in_flight_bytes", "gauge" },
        { "atlas_cdc_producer_queue_messages", "gauge" },
        { "atlas_cdc_lag_seconds", "gauge" },
        { "atlas_cdc_confirmed_lsn", "gauge" },
        { "atlas_cdc_replication_lag_bytes", "gauge" },
        { "atlas_cdc_slot_retained_wal_bytes", "gauge" },
        { "atlas_cdc_stream_state", "gauge" },
        { "atlas_cdc_ready", "gauge" },
        { "atlas_cdc_build_info", "gauge" },
        { "atlas_cdc_end_to_end_latency_seconds", "histogram" },
        { "process_cpu_seconds_total", "counter" },
        { "process_resident_memory_bytes", "gauge" },
        { "process_virtual_memory_bytes", "gauge" },
        { "process_start_time_seconds", "gauge" },
        { "process_open_fds", "gauge" },
        { "process_max_fds", "gauge" },
        { "process_num_threads", "gauge" },
        { "dotnet_gc_collections_total", "counter" },
        { "dotnet_gc_pause_time_seconds_total", "counter" },
        { "dotnet_gc_last_collection_heap_size_bytes", "gauge" },
        { "dotnet_thread_pool_threads", "gauge" },
    };

    [GeneratedRegex("^[a-z_][a-z0-9_]*$")]
    private static partial Regex SnakeCase();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<label>[^=,]+)=""(?:[^""\\]|\\.)*""")]
    private static partial Regex Label();

    /// <summary>Everything a relay host registers, on a registry of its own, in prometheus-net's exposition text.</summary>
    private static async Task<string> ScrapeEverythingAsync(Action<RelayMetrics, RelayStatus>? record = null)
    {
        var registry = Metrics.NewCustomRegistry();
        var status = new RelayStatus(new CdcOptions(), new StreamStatus());
        var metrics = new RelayMetrics(registry, ["default", "billing"]);
        _ = new StatusGauges(registry, status);
        _ = new ProcessMetrics(registry);
        using var runtime = new RuntimeMetrics(registry);
        status.SetSlotStats(serverWalLsn: 5000, restartLsn: 1000, confirmedFlushLsn: 4000);
        metrics.RecordPublished(0, "outbox.event.Order", DateTimeOffset.UtcNow.AddMilliseconds(-20));
        metrics.RecordPublishError("Local_MsgTimedOut");
        record?.Invoke(metrics, status);
        return await ScrapeAsync(registry);
    }

    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text);
        return Encoding.UTF8.GetString(text.ToArray());
    }

    private static Dictionary<string, string> Types(string text) =>
        text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .ToDictionary(parts => parts[2], parts => parts[3]);

    [Theory]
    [MemberData(nameof(ContractMetrics))]
    public async Task Contract_metrics_are_exported_with_their_type(string name, string type) =>
        Assert.Equal(type, Assert.Contains(name, Types(await ScrapeEverythingAsync())));

    [Fact]
    public async Task Every_exported_name_follows_prometheus_naming_conventions()
    {
        var text = await ScrapeEverythingAsync();
        var types = Types(text);

        Assert.NotEmpty(types);
        foreach (var (name, type) in types)
        {
            Assert.Matches(SnakeCase(), name);
            if (type == "counter")
                Assert.EndsWith("_total", name);
            else
                Assert.DoesNotMatch("_(total|count|sum|bucket)$", name);
            if (name.StartsWith("atlas", StringComparison.Ordinal))
                Assert.StartsWith("atlas_cdc_", name);
            Assert.DoesNotMatch("_(ms|milliseconds|kb|mb|kilobytes|megabytes|minutes|hours)(_|$)", name);
        }
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
        {
            var sample = Sample().Match(line);
            Assert.True(sample.Success, $"not a sample line: {line}");
            foreach (Match label in Label().Matches(sample.Groups["labels"].Value))
                Assert.Matches(SnakeCase(), label.Groups["label"].Value);
            Assert.True(double.TryParse(sample.Groups["value"].Value.Replace("+Inf", "Infinity", StringComparison.Ordinal),
                NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"not a number: {line}");
        }
    }

    [Fact]
    public async Task Counters_start_at_zero_for_each_outbox_so_rates_have_a_series_from_the_first_scrape()
    {
        var registry = Metrics.NewCustomRegistry();
        _ = new RelayMetrics(registry, ["sales", "billing"]);

        var text = await ScrapeAsync(registry);

        Assert.Contains("atlas_cdc_reconnects_total 0\n", text);
        Assert.Contains("atlas_cdc_transactions_total 0\n", text);
        Assert.Contains("atlas_cdc_slot_recoveries_total 0\n", text);
        foreach (var outbox in new[] { "sales", "billing" })
        {
            foreach (var counter in new[] { "events_dead_lettered", "header_warnings", "outbox_rows_deleted", "retention_errors", "events_backfilled", "events_republished" })
                Assert.Contains($"atlas_cdc_{counter}_total{{outbox=\"{outbox}\"}} 0\n", text);
            Assert.Contains($"atlas_cdc_end_to_end_latency_seconds_count{{outbox=\"{outbox}\"}} 0\n", text);
        }
        Assert.DoesNotContain("atlas_cdc_events_published_total{", text); // by topic: appears with its first event
        Assert.DoesNotContain("atlas_cdc_publish_errors_total{", text);
    }

    [Fact]
    public async Task Slot_figures_give_replication_lag_and_retained_wal_in_bytes()
    {
        var text = await ScrapeEverythingAsync();

        Assert.Contains("atlas_cdc_replication_lag_bytes 1000\n", text);
        Assert.Contains("atlas_cdc_slot_retained_wal_bytes 4000\n", text);
        Assert.Contains("atlas_cdc_confirmed_lsn 4000\n", text);
        Assert.Contains("atlas_cdc_producer_queue_messages 0\n", text);
        Assert.Contains("atlas_cdc_publish_errors_total{kind=\"Local_MsgTimedOut\"} 1\n", text);
    }

    [Fact]
    public async Task Stream_state_is_one_for_the_current_state_only()
    {
        var text = await ScrapeEverythingAsync((_, status) => status.State = StreamState.Standby);

        Assert.Contains("atlas_cdc_stream_state{state=\"standby\"} 1\n", text);
        foreach (var other in new[] { "starting", "streaming", "reconnecting", "stopped" })
            Assert.Contains($"atlas_cdc_stream_state{{state=\"{other}\"}} 0\n", text);
    }

    [Fact]
    public async Task Build_info_names_the_relay_version_and_runtime()
    {
        var text = await ScrapeEverythingAsync();

        Assert.Matches(@"atlas_cdc_build_info\{version=""[0-9]+\.[0-9]+\.[0-9]+[^""+]*"",runtime=""\.NET [0-9.]+[^""]*""\} 1\n", text);
    }

    [Fact]
    public async Task Counters_count_what_the_relay_adds_by_outbox_and_published_events_by_outbox_and_topic()
    {
        var text = await ScrapeEverythingAsync((metrics, _) =>
        {
            metrics.DeadLettered.Add(1, 1);
            metrics.RowsDeleted.Add(0, 250);
            metrics.RowsDeleted.Add(0, 50);
            metrics.Transactions.Add(3);
            metrics.RecordPublished(0, "outbox.event.Order", DateTimeOffset.UtcNow);
            metrics.RecordPublished(1, "outbox.event.Order", DateTimeOffset.UtcNow);
            metrics.RecordPublished(0, "outbox.event.\"Odd\"", DateTimeOffset.UtcNow);
        });

        Assert.Contains("atlas_cdc_events_dead_lettered_total{outbox=\"default\"} 0\n", text);
        Assert.Contains("atlas_cdc_events_dead_lettered_total{outbox=\"billing\"} 1\n", text);
        Assert.Contains("atlas_cdc_outbox_rows_deleted_total{outbox=\"default\"} 300\n", text);
        Assert.Contains("atlas_cdc_transactions_total 3\n", text);
        Assert.Contains("atlas_cdc_events_published_total{outbox=\"default\",topic=\"outbox.event.Order\"} 2\n", text);
        Assert.Contains("atlas_cdc_events_published_total{outbox=\"billing\",topic=\"outbox.event.Order\"} 1\n", text);
        Assert.Contains("atlas_cdc_events_published_total{outbox=\"default\",topic=\"outbox.event.\\\"Odd\\\"\"} 1\n", text);
        Assert.Contains("atlas_cdc_end_to_end_latency_seconds_count{outbox=\"billing\"} 1\n", text);
    }

    [Fact]
    public async Task End_to_end_latency_is_a_histogram_with_the_explicit_buckets_from_1_ms_to_60_s()
    {
        // Recorded once, 20 ms (and a little) after the commit.
        var text = await ScrapeEverythingAsync();

        var buckets = Regex.Matches(text, @"^atlas_cdc_end_to_end_latency_seconds_bucket\{outbox=""default"",le=""([^""]+)""\} (\S+)$", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(["0.001", "0.0025", "0.005", "0.01", "0.02", "0.03", "0.05", "0.075", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "+Inf"],
            buckets.Keys);
        Assert.Equal("0", buckets["0.01"]);
        Assert.Equal("1", buckets["1"]);
        Assert.Equal("1", buckets["+Inf"]);
        Assert.Contains("atlas_cdc_end_to_end_latency_seconds_count{outbox=\"default\"} 1\n", text);
    }

    [Fact]
    public async Task Slot_gauges_are_left_out_until_the_slot_was_first_read()
    {
        var registry = Metrics.NewCustomRegistry();
        var status = new RelayStatus(new CdcOptions(), new StreamStatus());
        _ = new StatusGauges(registry, status);

        var before = await ScrapeAsync(registry);
        status.SetSlotStats(serverWalLsn: 300, restartLsn: 100, confirmedFlushLsn: 200);
        var after = await ScrapeAsync(registry);

        Assert.DoesNotMatch("(?m)^atlas_cdc_replication_lag_bytes ", before);
        Assert.DoesNotMatch("(?m)^atlas_cdc_slot_retained_wal_bytes ", before);
        Assert.Contains("atlas_cdc_confirmed_lsn 0\n", before);
        Assert.Contains("atlas_cdc_replication_lag_bytes 100\n", after);
        Assert.Contains("atlas_cdc_slot_retained_wal_bytes 200\n", after);
    }

    [Fact]
    public async Task Each_host_registry_starts_from_zero_so_a_relay_run_twice_in_one_process_counts_afresh()
    {
        var first = Metrics.NewCustomRegistry();
        new RelayMetrics(first, ["default"]).Reconnects.Add(2);
        var second = Metrics.NewCustomRegistry();
        _ = new RelayMetrics(second, ["default"]);

        Assert.Contains("atlas_cdc_reconnects_total 2\n", await ScrapeAsync(first));
        Assert.Contains("atlas_cdc_reconnects_total 0\n", await ScrapeAsync(second));
    }

    [Fact]
    public void A_counter_named_without_total_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new RelayCounter(Metrics.NewCustomRegistry(), "atlas_cdc_things", "Things."));

        Assert.Contains("atlas_cdc_things", error.Message);
    }

    [Fact]
    public async Task Runtime_metrics_count_garbage_collections_by_generation_and_exceptions_by_type()
    {
        var registry = Metrics.NewCustomRegistry();
        using var runtime = new RuntimeMetrics(registry);
        double Value(string text, string sample) => double.Parse(
            Regex.Match(text, $"^{Regex.Escape(sample)} (\\S+)$", RegexOptions.Multiline).Groups[1].Value, CultureInfo.InvariantCulture);
        var before = await ScrapeAsync(registry);

        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        try
        {
            throw new TimeZoneNotFoundException("counted");
        }
        catch (TimeZoneNotFoundException)
        {
        }
        var after = await ScrapeAsync(registry);

        Assert.True(Value(after, "dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}")
            > Value(before, "dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}"), after);
        Assert.Equal(1, Value(after, "dotnet_exceptions_total{error_type=\"TimeZoneNotFoundException\"}"));
        foreach (var heap in new[] { "gen0", "gen1", "gen2", "loh", "poh" })
            Assert.Contains($"dotnet_gc_last_collection_heap_size_bytes{{gc_heap_generation=\"{heap}\"}} ", after);
        Assert.InRange(Value(after, "dotnet_thread_pool_threads"), 1, 10_000);
        Assert.True(Value(after, "dotnet_gc_pause_time_seconds_total") > 0, after);
    }

    [Fact]
    public async Task Process_metrics_describe_this_process()
    {
        var text = await ScrapeEverythingAsync();
        double Value(string name) => double.Parse(
            Regex.Match(text, $"^{name} (\\S+)$", RegexOptions.Multiline).Groups[1].Value, CultureInfo.InvariantCulture);

        using var self = Process.GetCurrentProcess();
        var started = (self.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
        Assert.InRange(Value("process_start_time_seconds"), started - 1, started + 1);
        Assert.InRange(Value("process_cpu_seconds_total"), 0.01, self.TotalProcessorTime.TotalSeconds + 5);
        Assert.InRange(Value("process_resident_memory_bytes"), 1 << 20, 64L << 30);
        Assert.InRange(Value("process_open_fds"), 3, Value("process_max_fds"));
        Assert.InRange(Value("process_num_threads"), 2, 10_000);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Observability;

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
        { "dotnet_thread_pool_threads", "gauge" },
    };

    [GeneratedRegex("^[a-z_][a-z0-9_]*$")]
    private static partial Regex SnakeCase();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<label>[^=,]+)=""(?:[^""\\]|\\.)*""")]
    private static partial Regex Label();

    private static string ScrapeEverything(Action<RelayMetrics, RelayStatus>? record = null)
    {
        using var exporter = new PrometheusExporter(RelayMetrics.MeterName, ProcessMetrics.MeterName, PrometheusExporter.RuntimeMeterName);
        var status = new RelayStatus(new CdcOptions());
        using var metrics = new RelayMetrics(status);
        using var process = new ProcessMetrics();
        status.SetSlotStats(serverWalLsn: 5000, restartLsn: 1000, confirmedFlushLsn: 4000);
        metrics.RecordPublished("outbox.event.Order", DateTimeOffset.UtcNow.AddMilliseconds(-20));
        metrics.RecordPublishError("Local_MsgTimedOut");
        record?.Invoke(metrics, status);
        return exporter.Scrape();
    }

    private static Dictionary<string, string> Types(string text) =>
        text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .ToDictionary(parts => parts[2], parts => parts[3]);

    [Theory]
    [MemberData(nameof(ContractMetrics))]
    public void Contract_metrics_are_exported_with_their_type(string name, string type) =>
        Assert.Equal(type, Assert.Contains(name, Types(ScrapeEverything())));

    [Fact]
    public void Every_exported_name_follows_prometheus_naming_conventions()
    {
        var text = ScrapeEverything();
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
    public void Counters_without_labels_start_at_zero_so_rates_have_a_series_from_the_first_scrape()
    {
        using var exporter = new PrometheusExporter(RelayMetrics.MeterName);
        using var metrics = new RelayMetrics(new RelayStatus(new CdcOptions()));

        var text = exporter.Scrape();

        Assert.Contains("atlas_cdc_events_dead_lettered_total 0\n", text);
        Assert.Contains("atlas_cdc_reconnects_total 0\n", text);
        Assert.Contains("atlas_cdc_transactions_total 0\n", text);
        Assert.Contains("atlas_cdc_header_warnings_total 0\n", text);
    }

    [Fact]
    public void Slot_figures_give_replication_lag_and_retained_wal_in_bytes()
    {
        var text = ScrapeEverything();

        Assert.Contains("atlas_cdc_replication_lag_bytes 1000\n", text);
        Assert.Contains("atlas_cdc_slot_retained_wal_bytes 4000\n", text);
        Assert.Contains("atlas_cdc_confirmed_lsn 4000\n", text);
        Assert.Contains("atlas_cdc_producer_queue_messages 0\n", text);
        Assert.Contains("atlas_cdc_publish_errors_total{kind=\"Local_MsgTimedOut\"} 1\n", text);
    }

    [Fact]
    public void Stream_state_is_one_for_the_current_state_only()
    {
        var text = ScrapeEverything((_, status) => status.State = StreamState.Standby);

        Assert.Contains("atlas_cdc_stream_state{state=\"standby\"} 1\n", text);
        foreach (var other in new[] { "starting", "streaming", "reconnecting", "stopped" })
            Assert.Contains($"atlas_cdc_stream_state{{state=\"{other}\"}} 0\n", text);
    }

    [Fact]
    public void Build_info_names_the_relay_version_and_runtime()
    {
        var text = ScrapeEverything();

        Assert.Matches(@"atlas_cdc_build_info\{runtime=""\.NET [0-9.]+[^""]*"",version=""[0-9]+\.[0-9]+\.[0-9]+[^""+]*""\} 1\n", text);
    }

    [Fact]
    public void Process_metrics_describe_this_process()
    {
        var text = ScrapeEverything();
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

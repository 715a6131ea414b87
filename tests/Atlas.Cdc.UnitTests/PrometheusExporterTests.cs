using System.Diagnostics.Metrics;
using Atlas.Cdc.Observability;

namespace Atlas.Cdc.UnitTests;

public class PrometheusExporterTests
{
    private static (Meter, PrometheusExporter) Create()
    {
        var meterName = "Test." + Guid.NewGuid().ToString("N");
        var meter = new Meter(meterName);
        return (meter, new PrometheusExporter(meterName));
    }

    [Fact]
    public void Counters_get_help_type_and_a_total_suffix_with_sorted_escaped_labels()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        var counter = meter.CreateCounter<long>("atlas_cdc_events_published", "{event}", "Events acknowledged.");
        counter.Add(2, new KeyValuePair<string, object?>("topic", "outbox.event.Order"));
        counter.Add(3, new KeyValuePair<string, object?>("topic", "outbox.event.Order"));
        counter.Add(1, new KeyValuePair<string, object?>("topic", "we\"ird\\"));

        var text = exporter.Scrape();

        Assert.Contains("# HELP atlas_cdc_events_published_total Events acknowledged.\n", text);
        Assert.Contains("# TYPE atlas_cdc_events_published_total counter\n", text);
        Assert.Contains("atlas_cdc_events_published_total{topic=\"outbox.event.Order\"} 5\n", text);
        Assert.Contains("atlas_cdc_events_published_total{topic=\"we\\\"ird\\\\\"} 1\n", text);
    }

    [Fact]
    public void Histograms_have_cumulative_buckets_sum_and_count()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        var histogram = meter.CreateHistogram("latency_seconds", "s", "Latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 1] });
        histogram.Record(0.005);
        histogram.Record(0.01);
        histogram.Record(0.5);
        histogram.Record(7);

        var text = exporter.Scrape();

        Assert.Contains("# TYPE latency_seconds histogram\n", text);
        Assert.Contains("latency_seconds_bucket{le=\"0.01\"} 2\n", text);
        Assert.Contains("latency_seconds_bucket{le=\"0.1\"} 2\n", text);
        Assert.Contains("latency_seconds_bucket{le=\"1\"} 3\n", text);
        Assert.Contains("latency_seconds_bucket{le=\"+Inf\"} 4\n", text);
        Assert.Contains("latency_seconds_sum 7.515\n", text);
        Assert.Contains("latency_seconds_count 4\n", text);
    }

    [Fact]
    public void Observable_gauges_are_read_at_scrape_time_and_vanished_series_disappear()
    {
        var (meter, exporter) = Create();
        using var _ = meter;
        using var __ = exporter;
        var state = "streaming";
        meter.CreateObservableGauge("state", () => new Measurement<int>(1, new KeyValuePair<string, object?>("state", state)));

        Assert.Contains("state{state=\"streaming\"} 1\n", exporter.Scrape());
        state = "standby";
        var text = exporter.Scrape();
        Assert.Contains("state{state=\"standby\"} 1\n", text);
        Assert.DoesNotContain("streaming", text);
    }

    [Fact]
    public void Runtime_instruments_that_go_down_are_gauges_and_no_gauge_ends_in_count()
    {
        using var exporter = new PrometheusExporter(PrometheusExporter.RuntimeMeterName);

        var text = exporter.Scrape();

        Assert.Contains("# TYPE dotnet_thread_pool_threads gauge\n", text);
        Assert.Contains("# TYPE dotnet_thread_pool_queue_length gauge\n", text);
        Assert.Contains("# TYPE dotnet_assemblies_loaded gauge\n", text);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter\n", text);
        Assert.DoesNotContain("dotnet_thread_pool_thread_count", text);
        Assert.DoesNotContain("dotnet_assembly_count", text);
    }

    [Theory]
    [InlineData("dotnet.gc.collections", "{collection}", true, "dotnet_gc_collections_total")]
    [InlineData("queue.count", "{item}", false, "queue_count_value")]
    [InlineData("sessions_total", "", false, "sessions_total_value")]
    [InlineData("dotnet.process.cpu.time", "s", true, "dotnet_process_cpu_time_seconds_total")]
    [InlineData("dotnet.process.memory.working_set", "By", false, "dotnet_process_memory_working_set_bytes")]
    [InlineData("atlas_cdc_lag_seconds", "s", false, "atlas_cdc_lag_seconds")]
    public void Instrument_names_map_to_prometheus_names(string name, string unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusExporter.MetricName(name, unit, counter));
}

using System.Runtime;
using System.Runtime.ExceptionServices;
using Prometheus;

namespace Atlas.Cdc.Observability;

/// <summary>
/// .NET runtime metrics under the names of OpenTelemetry's conventions for .NET (those of the runtime's own
/// <c>System.Runtime</c> meter, dots to underscores, units and <c>_total</c> added), read from the runtime's APIs at
/// scrape time. prometheus-net's own runtime metrics (the event-counter and meter adapters of its default registry)
/// are not used: they export the runtime's counters as gauges, and ten of them fail <c>promtool check metrics</c>.
/// </summary>
internal sealed class RuntimeMetrics : IDisposable
{
    /// <summary>The generations as GC.GetGCMemoryInfo().GenerationInfo orders them.</summary>
    private static readonly string[] s_heaps = ["gen0", "gen1", "gen2", "loh", "poh"];

    private readonly MetricFactory _factory;
    private readonly List<Action> _readers = [];
    private readonly Counter _exceptions;

    public RuntimeMetrics(CollectorRegistry registry)
    {
        _factory = MetricFactories.For(registry);

        var collections = _factory.CreateCounter("dotnet_gc_collections_total",
            "Garbage collections of each generation (a gen2 collection counts only as gen2).", "gc_heap_generation");
        _readers.Add(() =>
        {
            long higher = 0;
            for (var generation = GC.MaxGeneration; generation >= 0; generation--)
            {
                long thisAndHigher = GC.CollectionCount(generation);
                collections.WithLabels(s_heaps[generation]).IncTo(thisAndHigher - higher);
                higher = thisAndHigher;
            }
        });
        Counter("dotnet_gc_pause_time_seconds_total", "Time paused in garbage collections.", () => GC.GetTotalPauseDuration().TotalSeconds);
        Counter("dotnet_gc_heap_total_allocated_bytes_total", "Bytes allocated on the managed heap.", () => GC.GetTotalAllocatedBytes());
        var heapSize = _factory.CreateGauge("dotnet_gc_last_collection_heap_size_bytes",
            "Managed heap size of each generation after the last garbage collection.", "gc_heap_generation");
        var fragmentation = _factory.CreateGauge("dotnet_gc_last_collection_heap_fragmentation_size_bytes",
            "Heap fragmentation of each generation after the last garbage collection.", "gc_heap_generation");
        var committed = _factory.CreateGauge("dotnet_gc_last_collection_memory_committed_size_bytes",
            "Memory committed by the garbage collector after the last collection.");
        _readers.Add(() =>
        {
            var memory = GC.GetGCMemoryInfo();
            var generations = memory.GenerationInfo;
            for (var i = 0; i < generations.Length && i < s_heaps.Length; i++)
            {
                heapSize.WithLabels(s_heaps[i]).Set(generations[i].SizeAfterBytes);
                fragmentation.WithLabels(s_heaps[i]).Set(generations[i].FragmentationAfterBytes);
            }
            committed.Set(memory.TotalCommittedBytes);
        });

        var cpu = _factory.CreateCounter("dotnet_process_cpu_time_seconds_total", "CPU time of the process, by mode.", "cpu_mode");
        _readers.Add(() =>
        {
            var usage = Environment.CpuUsage;
            cpu.WithLabels("user").IncTo(usage.UserTime.TotalSeconds);
            cpu.WithLabels("system").IncTo(usage.PrivilegedTime.TotalSeconds);
        });
        Gauge("dotnet_process_memory_working_set_bytes", "Working set of the process.", () => Environment.WorkingSet);
        Gauge("dotnet_process_processors", "Processors available to the process.", () => Environment.ProcessorCount);

        Counter("dotnet_jit_compiled_methods_total", "Methods compiled by the JIT.", () => JitInfo.GetCompiledMethodCount());
        Counter("dotnet_jit_compiled_il_size_bytes_total", "IL bytes compiled by the JIT.", () => JitInfo.GetCompiledILBytes());
        Counter("dotnet_jit_compilation_time_seconds_total", "Time spent in the JIT.", () => JitInfo.GetCompilationTime().TotalSeconds);

        Gauge("dotnet_thread_pool_threads", "Thread-pool threads.", () => ThreadPool.ThreadCount);
        Gauge("dotnet_thread_pool_queue_length", "Work items queued to the thread pool and not started yet.", () => ThreadPool.PendingWorkItemCount);
        Counter("dotnet_thread_pool_work_item_count_total", "Work items the thread pool completed.", () => ThreadPool.CompletedWorkItemCount);
        Counter("dotnet_monitor_lock_contentions_total", "Times a thread waited for a lock (Monitor) held by another.",
            () => Monitor.LockContentionCount);
        Gauge("dotnet_timers_active", "Timers currently active.", () => Timer.ActiveCount);
        Gauge("dotnet_assemblies_loaded", "Assemblies loaded.", () => AppDomain.CurrentDomain.GetAssemblies().Length);

        _exceptions = _factory.CreateCounter("dotnet_exceptions_total", "Exceptions thrown (first chance), by type.", "error_type");
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChanceException;

        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var read in _readers)
                read();
        });
    }

    public void Dispose() => AppDomain.CurrentDomain.FirstChanceException -= OnFirstChanceException;

    private void OnFirstChanceException(object? sender, FirstChanceExceptionEventArgs e) =>
        _exceptions.WithLabels(e.Exception.GetType().Name).Inc();

    /// <summary>A counter whose running total the runtime keeps: exported as that total.</summary>
    private void Counter(string name, string help, Func<double> read)
    {
        var counter = _factory.CreateCounter(name, help);
        _readers.Add(() => counter.IncTo(read()));
    }

    private void Gauge(string name, string help, Func<double> read)
    {
        var gauge = _factory.CreateGauge(name, help);
        _readers.Add(() => gauge.Set(read()));
    }
}

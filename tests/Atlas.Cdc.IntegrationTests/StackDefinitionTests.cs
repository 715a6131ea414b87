using System.Reflection;
using System.Text.Json;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Sandbox;
using Microsoft.Extensions.Configuration;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// The docker-compose stack cannot run here (no Docker engine), so it is checked statically: every file parses,
/// promtool accepts the Prometheus configuration and rules, the relay reads every setting compose gives it,
/// every mounted path exists, and the services point at each other by the right names and ports.
/// </summary>
public class StackDefinitionTests
{
    private static readonly JsonElement s_compose = StackFiles.LoadYaml(StackFiles.ComposeFile);

    private static JsonElement Service(string name) =>
        s_compose.GetProperty("services").TryGetProperty(name, out var service)
            ? service
            : throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}'");

    [Fact]
    public void Compose_file_runs_postgres_with_logical_wal_kafka_in_kraft_mode_the_relay_prometheus_grafana_and_a_writer()
    {
        var postgres = Service("postgres");
        Assert.StartsWith("postgres:15", postgres.GetProperty("image").GetString());
        Assert.Contains("wal_level=logical", string.Join(' ', postgres.GetProperty("command").EnumerateArray().Select(a => a.GetString())));

        var kafka = Service("kafka");
        Assert.StartsWith("apache/kafka:", kafka.GetProperty("image").GetString());
        Assert.Equal("broker,controller", StackFiles.Environment(kafka)["KAFKA_PROCESS_ROLES"]);

        var relay = Service("relay");
        Assert.Equal("Dockerfile", relay.GetProperty("build").GetProperty("dockerfile").GetString());
        Assert.StartsWith("prom/prometheus:", Service("prometheus").GetProperty("image").GetString());
        Assert.StartsWith("grafana/grafana:", Service("grafana").GetProperty("image").GetString());
        Assert.Contains("write-events.sh", Service("demo-writer").GetProperty("entrypoint").GetRawText());
    }

    [Fact]
    public void Every_relay_setting_in_the_compose_file_is_a_setting_the_relay_reads_and_accepts()
    {
        var environment = StackFiles.Environment(Service("relay"));
        var settings = environment.Where(e => e.Key.StartsWith("Cdc__", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(settings);

        foreach (var (name, _) in settings)
            Assert.True(IsOption(typeof(CdcOptions), name.Split("__")[1..]), $"{name} is not a property of CdcOptions: the relay would ignore it");

        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(e => new KeyValuePair<string, string?>(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value)))
            .Build();
        var options = configuration.GetSection(CdcOptions.SectionName).Get<CdcOptions>()!;
        Assert.Empty(RelaySettings.Validate(options));
        Assert.Equal("kafka:9092", options.Kafka.BootstrapServers);
        Assert.Contains("Username=atlas_cdc_relay", options.Postgres.ConnectionString);

        Assert.Equal("json", environment["Logging__Console__FormatterName"]);
    }

    [Fact]
    public void The_image_and_the_compose_file_set_the_memory_settings_the_operations_guide_documents()
    {
        // docs/operations.md, *Memory*: deployment settings, since the relay does not set them itself.
        string[] settings = ["DOTNET_GCgen0size=0x400000", "MALLOC_MMAP_THRESHOLD_=4194304", "MALLOC_TRIM_THRESHOLD_=262144", "MALLOC_ARENA_MAX=2"];
        var dockerfile = File.ReadAllText(StackFiles.Path("Dockerfile"));
        var compose = StackFiles.Environment(Service("relay"));
        var guide = File.ReadAllText(StackFiles.Path("docs", "operations.md"));
        foreach (var setting in settings)
        {
            var (name, value) = (setting.Split('=')[0], setting.Split('=')[1]);
            Assert.Contains(setting, dockerfile, StringComparison.Ordinal);
            Assert.Equal(value, compose.GetValueOrDefault(name));
            Assert.Contains($"| `{name}` | `{value}` |", guide, StringComparison.Ordinal);
        }
    }

    /// <summary>Follows the names as the configuration binder does (case-insensitive); dictionaries take any key.</summary>
    private static bool IsOption(Type type, string[] path)
    {
        if (path.Length == 0)
            return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan);
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            return path.Length == 1;
        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is { CanWrite: true } && IsOption(property.PropertyType, path[1..]);
    }

    [Fact]
    public void Every_host_path_the_compose_file_mounts_or_builds_from_exists()
    {
        var checkedPaths = 0;
        foreach (var service in s_compose.GetProperty("services").EnumerateObject())
        {
            foreach (var volume in service.Value.TryGetProperty("volumes", out var volumes) ? volumes.EnumerateArray() : [])
            {
                var source = volume.ValueKind == JsonValueKind.String ? volume.GetString()!.Split(':')[0] : volume.GetProperty("source").GetString()!;
                if (!source.StartsWith('.') && !source.StartsWith('/'))
                    continue; // a named volume
                Assert.True(File.Exists(StackFiles.Path(source)) || Directory.Exists(StackFiles.Path(source)),
                    $"service {service.Name} mounts {source}, which does not exist");
                checkedPaths++;
            }
            if (service.Value.TryGetProperty("build", out var build))
            {
                var context = StackFiles.Path(build.GetProperty("context").GetString()!);
                Assert.True(File.Exists(System.IO.Path.Combine(context, build.GetProperty("dockerfile").GetString()!)), $"service {service.Name}'s Dockerfile is missing");
                checkedPaths++;
            }
        }
        Assert.True(checkedPaths >= 8, $"only {checkedPaths} paths found: the compose file's volumes were not read");
    }

    [Fact]
    public void Postgres_init_applies_the_repository_sql_and_grafana_loads_the_dashboards_from_where_compose_mounts_them()
    {
        var postgresVolumes = Service("postgres").GetProperty("volumes").EnumerateArray().Select(v => v.GetString()!).ToList();
        var sqlMount = Assert.Single(postgresVolumes, v => v.StartsWith("./sql:", StringComparison.Ordinal)).Split(':')[1];
        Assert.Equal(sqlMount, StackFiles.Environment(Service("postgres"))["ATLAS_CDC_SQL_DIR"]);
        Assert.Contains(postgresVolumes, v => v.Split(':')[1] == "/docker-entrypoint-initdb.d");

        var grafanaVolumes = Service("grafana").GetProperty("volumes").EnumerateArray().Select(v => v.GetString()!.Split(':')).ToList();
        var dashboardsMount = Assert.Single(grafanaVolumes, v => v[0] == "./grafana/dashboards")[1];
        var provider = Assert.Single(StackFiles.LoadYaml(StackFiles.Path("grafana", "provisioning", "dashboards", "atlas-cdc.yml"))
            .GetProperty("providers").EnumerateArray());
        Assert.Equal(dashboardsMount, provider.GetProperty("options").GetProperty("path").GetString());
        Assert.Contains(grafanaVolumes, v => v[0] == "./grafana/provisioning/datasources" && v[1] == "/etc/grafana/provisioning/datasources");
        Assert.Contains(grafanaVolumes, v => v[0] == "./grafana/provisioning/dashboards" && v[1] == "/etc/grafana/provisioning/dashboards");
        Assert.StartsWith(dashboardsMount + "/", StackFiles.Environment(Service("grafana"))["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]);
    }

    [Fact]
    public void Prometheus_scrapes_the_relay_port_and_grafana_reads_prometheus_at_its_scrape_interval()
    {
        var relayUrl = new Uri(StackFiles.Environment(Service("relay"))["Cdc__Http__Url"]);
        var prometheus = StackFiles.LoadYaml(StackFiles.PrometheusConfig);
        var job = Assert.Single(prometheus.GetProperty("scrape_configs").EnumerateArray(), j => j.GetProperty("job_name").GetString() == "atlas-cdc");
        var target = Assert.Single(job.GetProperty("static_configs")[0].GetProperty("targets").EnumerateArray()).GetString();
        Assert.Equal($"relay:{relayUrl.Port}", target);
        Assert.Contains(Service("prometheus").GetProperty("volumes").EnumerateArray(), v => v.GetString() == "./deploy/prometheus:/etc/prometheus:ro");

        var datasource = Assert.Single(StackFiles.LoadYaml(StackFiles.Path("grafana", "provisioning", "datasources", "prometheus.yml"))
            .GetProperty("datasources").EnumerateArray());
        Assert.Equal("http://prometheus:9090", datasource.GetProperty("url").GetString());
        Assert.Equal(prometheus.GetProperty("global").GetProperty("scrape_interval").GetString(),
            datasource.GetProperty("jsonData").GetProperty("timeInterval").GetString());
    }

    [Fact]
    public void Every_yaml_and_json_file_of_the_stack_parses()
    {
        var files = new[] { "deploy", "grafana" }
            .SelectMany(d => Directory.EnumerateFiles(StackFiles.Path(d), "*", SearchOption.AllDirectories))
            .Append(StackFiles.ComposeFile)
            .ToList();
        Assert.True(files.Count >= 8, $"only {files.Count} files found");
        foreach (var file in files)
        {
            if (file.EndsWith(".yml", StringComparison.Ordinal) || file.EndsWith(".yaml", StringComparison.Ordinal))
                Assert.NotEqual(JsonValueKind.Null, StackFiles.LoadYaml(file).ValueKind);
            else if (file.EndsWith(".json", StringComparison.Ordinal))
                StackFiles.LoadJson(file);
        }
    }

    [Fact]
    public void Every_shell_script_of_the_stack_is_valid_bash()
    {
        var scripts = Directory.GetFiles(StackFiles.Path("deploy"), "*.sh", SearchOption.AllDirectories);
        Assert.True(scripts.Length >= 2, $"only {scripts.Length} scripts found");
        foreach (var script in scripts)
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("bash", ["-n", script])
            {
                RedirectStandardError = true,
            })!;
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{script}: {errors}");
        }
    }

    [Fact]
    public async Task Promtool_accepts_the_prometheus_config_and_alert_rules_and_their_unit_tests_pass()
    {
        var config = await Promtool.CheckConfigAsync(StackFiles.PrometheusConfig);
        Assert.True(config.Succeeded, config.ToString());
        var rules = await Promtool.CheckRulesAsync(StackFiles.AlertRules);
        Assert.True(rules.Succeeded, rules.ToString());
        var tests = await Promtool.TestRulesAsync(StackFiles.AlertTests);
        Assert.True(tests.Succeeded, tests.ToString());
    }

    [Fact]
    public void Alert_rules_cover_lag_relay_down_not_streaming_retained_wal_and_dead_letters_with_a_runbook_each()
    {
        var rules = StackFiles.LoadYaml(StackFiles.AlertRules).GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray()).ToList();
        var tests = File.ReadAllText(StackFiles.AlertTests);
        var runbooks = File.ReadAllText(StackFiles.Path("docs", "runbooks.md"));
        foreach (var expected in new[] { "AtlasCdcLagHigh", "AtlasCdcRelayDown", "AtlasCdcNotStreaming", "AtlasCdcSlotRetainedWalGrowing", "AtlasCdcDeadLetters" })
            Assert.Contains(rules, r => r.GetProperty("alert").GetString() == expected);
        foreach (var rule in rules)
        {
            var name = rule.GetProperty("alert").GetString()!;
            Assert.Contains($"alertname: {name}\n", tests);
            Assert.Equal($"docs/runbooks.md#{name.ToLowerInvariant()}", rule.GetProperty("annotations").GetProperty("runbook").GetString());
            Assert.Contains($"\n## {name}\n", runbooks);
        }
    }

    [Fact]
    public void Every_dashboard_panel_and_every_metric_the_dashboard_and_alerts_use_is_described_in_the_docs()
    {
        var docs = File.ReadAllText(StackFiles.Path("docs", "observability.md"));
        var dashboard = StackFiles.LoadJson(StackFiles.Dashboard);
        var titles = dashboard.GetProperty("panels").EnumerateArray()
            .Where(p => p.GetProperty("type").GetString() != "row")
            .Select(p => p.GetProperty("title").GetString()!)
            .ToList();
        Assert.NotEmpty(titles);
        foreach (var title in titles)
            Assert.True(docs.Contains($"**{title}**", StringComparison.Ordinal), $"panel '{title}' is not described in docs/observability.md");

        var queries = string.Join('\n', DashboardQueries.Of(dashboard).Select(q => q.Expression)) + File.ReadAllText(StackFiles.AlertRules);
        var metrics = System.Text.RegularExpressions.Regex.Matches(queries, @"\b(atlas_cdc|process|dotnet)_[a-z_]+")
            .Select(m => m.Value.EndsWith("_bucket", StringComparison.Ordinal) ? m.Value[..^"_bucket".Length] : m.Value)
            .Distinct()
            .ToList();
        Assert.True(metrics.Count >= 20, $"only {metrics.Count} metrics found");
        foreach (var metric in metrics)
            Assert.True(docs.Contains($"`{metric}", StringComparison.Ordinal), $"{metric} is used by the dashboard or alerts but not listed in docs/observability.md");
    }

    [Fact]
    public void Dockerfile_publishes_the_relay_on_the_aspnet_runtime_with_its_packaged_librdkafka_as_a_non_root_user()
    {
        var lines = File.ReadAllLines(StackFiles.Path("Dockerfile")).Select(l => l.Trim()).ToList();
        Assert.Contains(lines, l => l.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0", StringComparison.Ordinal));
        // The aspnet image carries Microsoft.NETCore.App and Microsoft.AspNetCore.App: the relay must ask for nothing else.
        using var runtimeConfig = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(RelayProcess.DefaultAssemblyPath, ".runtimeconfig.json")));
        var options = runtimeConfig.RootElement.GetProperty("runtimeOptions");
        var frameworks = options.TryGetProperty("frameworks", out var list)
            ? list.EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList()
            : [options.GetProperty("framework").GetProperty("name").GetString()];
        Assert.Equal(["Microsoft.AspNetCore.App", "Microsoft.NETCore.App"], frameworks.Order());
        Assert.DoesNotContain(lines, l => l.Contains("librdkafka1", StringComparison.Ordinal));
        var user = Assert.Single(lines, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotContain("root", user);
        Assert.Equal("ENTRYPOINT [\"dotnet\", \"Atlas.Cdc.dll\"]", lines[^1]);
        foreach (var copy in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[1..^1])
                Assert.True(File.Exists(StackFiles.Path(source)) || Directory.Exists(StackFiles.Path(source)), $"Dockerfile copies {source}, which does not exist");
        }
    }
}

using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>The deployment files of the repository (compose, Prometheus, Grafana), read as a program would.</summary>
internal static partial class StackFiles
{
    public static string Root => RepositoryPaths.Root;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string ComposeFile => Path("docker-compose.yml");

    public static string PrometheusConfig => Path("deploy", "prometheus", "prometheus.yml");

    public static string AlertRules => Path("deploy", "prometheus", "alerts.yml");

    public static string AlertTests => Path("deploy", "prometheus", "alerts.test.yml");

    public static string Dashboard => Path("grafana", "dashboards", "atlas-cdc.json");

    /// <summary>Parses YAML with PyYAML (python3 is on every machine of this project) and returns it as JSON.</summary>
    public static JsonElement LoadYaml(string file)
    {
        var startInfo = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add("import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout, default=str)");
        startInfo.ArgumentList.Add(file);
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"{file} is not valid YAML:\n{stderr}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }

    public static JsonElement LoadJson(string file) => JsonDocument.Parse(File.ReadAllText(file)).RootElement.Clone();

    /// <summary>Compose's interpolation as `docker compose` does it with nothing set: <c>${VAR:-default}</c> gives the default.</summary>
    public static string Interpolate(string value)
    {
        var result = Interpolation().Replace(value, match => match.Groups["default"].Success
            ? match.Groups["default"].Value
            : throw new Xunit.Sdk.XunitException($"'{value}' needs variable {match.Groups["name"].Value}, which has no default"));
        return result.Replace("$$", "$", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(:-(?<default>[^}]*))?\}")]
    private static partial Regex Interpolation();

    /// <summary>The environment of a compose service, whether written as a map or as a list of NAME=value.</summary>
    public static Dictionary<string, string> Environment(JsonElement service)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!service.TryGetProperty("environment", out var section))
            return environment;
        if (section.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in section.EnumerateArray())
            {
                var text = entry.GetString()!;
                var equals = text.IndexOf('=', StringComparison.Ordinal);
                environment[equals < 0 ? text : text[..equals]] = equals < 0 ? "" : Interpolate(text[(equals + 1)..]);
            }
        }
        else
        {
            foreach (var property in section.EnumerateObject())
                environment[property.Name] = Interpolate(property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText());
        }
        return environment;
    }
}

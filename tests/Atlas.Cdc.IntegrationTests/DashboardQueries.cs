using System.Text.Json;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>Every PromQL query of a Grafana dashboard, with Grafana's variables replaced the way Grafana would.</summary>
internal static class DashboardQueries
{
    public sealed record Query(string Panel, string RefId, string Expression);

    /// <summary>The targets of every panel, rows and nested panels included.</summary>
    public static List<Query> Of(JsonElement dashboard)
    {
        var queries = new List<Query>();
        Collect(dashboard.GetProperty("panels"), queries);
        return queries;
    }

    /// <summary>The <c>label_values(metric, label)</c> queries of the dashboard's template variables.</summary>
    public static List<(string Variable, string Metric, string Label)> VariableQueries(JsonElement dashboard)
    {
        var result = new List<(string, string, string)>();
        foreach (var variable in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() != "query")
                continue;
            var query = variable.GetProperty("query");
            var text = query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString()! : query.GetString()!;
            var inside = text.Trim()["label_values(".Length..^1].Split(',', StringSplitOptions.TrimEntries);
            result.Add((variable.GetProperty("name").GetString()!, inside[0], inside[1]));
        }
        return result;
    }

    /// <summary>
    /// Replaces <c>$instance</c>/<c>${instance}</c>, <c>$outbox</c> (as Grafana's "All": <c>.*</c>),
    /// <c>$__rate_interval</c> and <c>$__interval</c>.
    /// </summary>
    public static string Substitute(string expression, string instance, string rateInterval)
    {
        var result = expression
            .Replace("${instance}", instance, StringComparison.Ordinal)
            .Replace("$instance", instance, StringComparison.Ordinal)
            .Replace("${outbox}", ".*", StringComparison.Ordinal)
            .Replace("$outbox", ".*", StringComparison.Ordinal)
            .Replace("$__rate_interval", rateInterval, StringComparison.Ordinal)
            .Replace("${__rate_interval}", rateInterval, StringComparison.Ordinal)
            .Replace("$__interval", rateInterval, StringComparison.Ordinal);
        Assert.False(result.Contains('$', StringComparison.Ordinal), $"unknown Grafana variable left in: {result}");
        return result;
    }

    private static void Collect(JsonElement panels, List<Query> queries)
    {
        foreach (var panel in panels.EnumerateArray())
        {
            if (panel.TryGetProperty("panels", out var nested))
                Collect(nested, queries);
            if (!panel.TryGetProperty("targets", out var targets))
                continue;
            var title = panel.GetProperty("title").GetString()!;
            foreach (var target in targets.EnumerateArray())
                queries.Add(new Query(title, target.GetProperty("refId").GetString()!, target.GetProperty("expr").GetString()!));
        }
    }
}

namespace Atlas.Cdc.Configuration;

/// <summary>
/// Finds values under <c>Cdc</c> that no setting reads: a misspelled <c>Cdc__Outboxes__billing__ValueFormt</c>
/// would otherwise be ignored without a word and the relay would run with the default. Each becomes one error that
/// names it and the settings known at its place.
/// </summary>
internal static class UnknownSettings
{
    /// <summary>A name/value map's key (<c>Cdc:Kafka:Properties:&lt;name&gt;</c>, <c>Cdc:Outboxes:&lt;name&gt;</c>) in a pattern.</summary>
    private const string AnyKey = "*";

    public static IEnumerable<string> Find(IConfiguration configuration)
    {
        var patterns = new List<string[]>();
        Collect(typeof(CdcOptions), CdcOptions.SectionName, patterns);
        foreach (var (path, value) in configuration.GetSection(CdcOptions.SectionName).AsEnumerable())
        {
            if (value is null)
                continue; // a section, not a value
            var segments = path.Split(':');
            if (patterns.Any(pattern => Matches(pattern, segments)))
                continue;
            var parent = string.Join(':', segments[..^1]);
            // The names one level down from the parent: settings, sections and maps (a map's own key is no name).
            var depth = segments.Length - 1;
            var known = patterns.Where(p => p.Length > depth && p[depth] != AnyKey && Matches(p[..depth], segments[..depth]))
                .Select(p => p[depth]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var hint = known.Count > 0
                ? $"the settings under {parent} are {string.Join(", ", known)}"
                : "docs/operations.md lists every setting";
            yield return $"{path} (env {path.Replace(":", "__", StringComparison.Ordinal)}) is not a setting of the relay, so it would be ignored: {hint}.";
        }
    }

    private static bool Matches(string[] pattern, string[] segments) =>
        pattern.Length == segments.Length
        && pattern.Zip(segments).All(pair => pair.First == AnyKey || string.Equals(pair.First, pair.Second, StringComparison.OrdinalIgnoreCase));

    /// <summary>Every setting's path as segments, with <see cref="AnyKey"/> for a map's key, as the binder walks them.</summary>
    private static void Collect(Type type, string prefix, List<string[]> patterns)
    {
        foreach (var setting in CdcOptionsBinder.SettingsOf(type, prefix))
        {
            if (!setting.IsDictionary)
                patterns.Add(setting.Path.Split(':'));
            else if (setting.Type == typeof(string) || !setting.Type.IsClass)
                patterns.Add([.. setting.Path.Split(':'), AnyKey]);
            else
                Collect(setting.Type, $"{setting.Path}:{AnyKey}", patterns);
        }
    }
}

using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// docs/operations.md's settings table is kept in step with <see cref="CdcOptions"/>: every setting, by its
/// environment variable, with the default the code gives it.
/// </summary>
public partial class DocumentationTests
{
    private static readonly string s_operationsGuide = Path.Combine("docs", "operations.md");

    [Fact]
    public void Operations_guide_settings_table_lists_every_setting_of_the_relay_by_its_environment_variable()
    {
        var rows = SettingsTable();
        var missing = Settings(typeof(CdcOptions), new CdcOptions(), "Cdc")
            .Where(setting => !rows.ContainsKey(setting.Name))
            .Select(setting => setting.Name)
            .ToList();
        Assert.True(missing.Count == 0, $"{s_operationsGuide}'s settings table lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public void Operations_guide_settings_table_gives_each_setting_the_default_the_code_has()
    {
        var rows = SettingsTable();
        var wrong = new List<string>();
        foreach (var (name, type, value) in Settings(typeof(CdcOptions), new CdcOptions(), "Cdc"))
        {
            if (!rows.TryGetValue(name, out var cell) || Expected(type, value) is not { } expected)
                continue; // missing rows are the other test's; an empty string or a dictionary has no default to show
            var codes = CodeSpans().Matches(cell).Select(m => m.Groups[1].Value).ToList();
            var documented = type == typeof(TimeSpan)
                ? codes.Any(c => TimeSpan.TryParse(c, CultureInfo.InvariantCulture, out var t) && t == (TimeSpan)value!)
                : codes.Contains(expected, StringComparer.Ordinal);
            if (!documented)
                wrong.Add($"{name}: the code's default is `{expected}`, the table says '{cell}'");
        }
        Assert.True(wrong.Count == 0, $"{s_operationsGuide}'s settings table has the wrong default for:\n" + string.Join("\n", wrong));
    }

    /// <summary>The default as the table writes it (in backticks), or null when the code's default is empty.</summary>
    private static string? Expected(Type type, object? value) => value switch
    {
        null or "" or IDictionary => null,
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f when !type.IsEnum => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>The table's rows, by environment variable (placeholders such as &lt;column&gt; read as &lt;name&gt;): the default cell.</summary>
    private static Dictionary<string, string> SettingsTable()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryPaths.Root, s_operationsGuide));
        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match row in SettingsRow().Matches(text))
            rows[Placeholder().Replace(row.Groups["name"].Value, "<name>")] = row.Groups["default"].Value.Trim();
        Assert.True(rows.Count >= 40, $"only {rows.Count} settings rows found in {s_operationsGuide}: is the table still there?");
        return rows;
    }

    /// <summary>
    /// Cdc__Section__Setting for every bindable property, with its type and its default; dictionaries are
    /// documented as Name__&lt;name&gt;, and the defaults of a dictionary's values are those of a new value.
    /// </summary>
    private static IEnumerable<(string Name, Type Type, object? Default)> Settings(Type type, object? instance, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = $"{prefix}__{property.Name}";
            var propertyType = property.PropertyType;
            var value = instance is null ? null : property.GetValue(instance);
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                var valueType = propertyType.GetGenericArguments()[1];
                if (valueType.IsClass && valueType != typeof(string))
                    foreach (var nested in Settings(valueType, Activator.CreateInstance(valueType), name + "__<name>"))
                        yield return nested;
                else
                    yield return (name + "__<name>", propertyType, value);
            }
            else if (propertyType.IsClass && propertyType != typeof(string))
                foreach (var nested in Settings(propertyType, value, name))
                    yield return nested;
            else
                yield return (name, propertyType, value);
        }
    }

    [GeneratedRegex(@"^\| `(?<name>[A-Za-z_<>]+)` \| (?<default>[^|]*) \|", RegexOptions.Multiline)]
    private static partial Regex SettingsRow();

    [GeneratedRegex("<[a-z]+>")]
    private static partial Regex Placeholder();

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex CodeSpans();
}

using System.Reflection;
using Atlas.Cdc.Configuration;
using Atlas.Cdc.Sandbox;

namespace Atlas.Cdc.IntegrationTests;

public class DocumentationTests
{
    [Fact]
    public void Readme_settings_table_lists_every_setting_of_the_relay_by_its_environment_variable()
    {
        // Any placeholder (<name>, <column>) stands for a dictionary's key.
        var readme = System.Text.RegularExpressions.Regex.Replace(
            File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md")), "<[a-z]+>", "<name>");
        var missing = EnvironmentVariables(typeof(CdcOptions), "Cdc")
            .Where(name => !readme.Contains($"| `{name}` |", StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, "README's settings table lacks: " + string.Join(", ", missing));
    }

    /// <summary>Cdc__Section__Setting for every bindable property; dictionaries are documented as Name__&lt;name&gt;.</summary>
    private static IEnumerable<string> EnvironmentVariables(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = $"{prefix}__{property.Name}";
            var propertyType = property.PropertyType;
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                var valueType = propertyType.GetGenericArguments()[1];
                if (valueType.IsClass && valueType != typeof(string))
                    foreach (var nested in EnvironmentVariables(valueType, name + "__<name>"))
                        yield return nested;
                else
                    yield return name + "__<name>";
            }
            else if (propertyType.IsClass && propertyType != typeof(string))
                foreach (var nested in EnvironmentVariables(propertyType, name))
                    yield return nested;
            else
                yield return name;
        }
    }
}

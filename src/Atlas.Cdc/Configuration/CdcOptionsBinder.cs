using System.ComponentModel;
using System.Globalization;
using System.Reflection;

namespace Atlas.Cdc.Configuration;

/// <summary>
/// Binds the <c>Cdc</c> section to <see cref="CdcOptions"/> without throwing. The configuration binder throws on
/// the first value it cannot convert (<c>Cdc__ConfirmInterval=banana</c>), which ends the process with a stack
/// trace; here every value is first parsed as the type of the setting it is for, and each one that does not
/// parse becomes one error naming the setting, its environment variable, the value and what is accepted.
/// </summary>
public static class CdcOptionsBinder
{
    /// <summary>
    /// Binds what parses, and returns one error per value that does not and per value no setting reads (empty when
    /// all parse and all are settings).
    /// </summary>
    public static IReadOnlyList<string> Bind(IConfiguration configuration, out CdcOptions options)
    {
        var errors = new List<string>();
        var rejected = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in Settings().SelectMany(setting => Entries(configuration, setting)))
        {
            var values = setting.IsDictionary
                ? configuration.GetSection(setting.Path).GetChildren().Select(entry => (entry.Path, entry.Value))
                : [(setting.Path, configuration[setting.Path])];
            foreach (var (path, value) in values)
            {
                if (value is null || Check(setting, value) is not { } accepted)
                    continue;
                var environmentVariable = path.Replace(":", "__", StringComparison.Ordinal);
                errors.Add($"{path} (env {environmentVariable}) '{value}' is not {accepted}.");
                rejected.Add(path);
            }
        }
        errors.AddRange(UnknownSettings.Find(configuration));

        // The rest is bound as the binder would, so that the other settings can still be checked.
        var section = rejected.Count == 0
            ? configuration.GetSection(CdcOptions.SectionName)
            : new ConfigurationBuilder()
                .AddInMemoryCollection(configuration.AsEnumerable().Where(entry => !rejected.Contains(entry.Key)))
                .Build()
                .GetSection(CdcOptions.SectionName);
        try
        {
            options = section.Get<CdcOptions>() ?? new CdcOptions();
        }
        catch (InvalidOperationException e)
        {
            // A type the checks above do not know yet: still one line, never a stack trace.
            errors.Add(e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message);
            options = new CdcOptions();
        }
        return errors;
    }

    /// <summary>Every setting of <see cref="CdcOptions"/>, nested sections included, found by reflection.</summary>
    public static IReadOnlyList<Setting> Settings() => SettingsOf(typeof(CdcOptions), CdcOptions.SectionName);

    /// <summary>The settings of an options type placed at <paramref name="prefix"/>, with a new instance's defaults.</summary>
    internal static IReadOnlyList<Setting> SettingsOf(Type type, string prefix)
    {
        var settings = new List<Setting>();
        Collect(type, Activator.CreateInstance(type)!, prefix, settings);
        return settings;
    }

    /// <summary>
    /// The setting itself, or for a map of sections (<c>Cdc:Outboxes</c>) the settings of each configured entry, so
    /// that <c>Cdc:Outboxes:billing:Preset</c> is checked like any other setting.
    /// </summary>
    private static IEnumerable<Setting> Entries(IConfiguration configuration, Setting setting)
    {
        if (!setting.IsDictionary || setting.Type == typeof(string) || !setting.Type.IsClass)
            return [setting];
        return [.. configuration.GetSection(setting.Path).GetChildren().SelectMany(entry => SettingsOf(setting.Type, entry.Path))];
    }

    /// <summary>Null when <paramref name="value"/> parses as the setting's type; otherwise what the setting accepts.</summary>
    public static string? Check(Setting setting, string value)
    {
        // An optional setting (ValueFormat?) accepts what its type accepts.
        var type = Nullable.GetUnderlyingType(setting.Type) ?? setting.Type;
        var text = value.Trim();
        if (type == typeof(string))
            return null;
        if (type.IsEnum)
            return Enum.GetNames(type).Contains(text, StringComparer.OrdinalIgnoreCase)
                ? null
                : $"one of {string.Join(", ", Enum.GetNames(type))}";
        if (type == typeof(bool))
            return bool.TryParse(text, out _) ? null : "true or false";
        if (type == typeof(TimeSpan))
        {
            // TimeSpan.Parse reads a bare number as days ("500" would be 500 days): insist on hh:mm:ss.
            var ok = text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out _);
            var example = setting.Default is TimeSpan defaultValue ? Durations.FormatSetting(defaultValue) : "00:00:05";
            return ok ? null : $"a duration: use [d.]hh:mm:ss[.fff], such as {example}";
        }
        if (type == typeof(int) || type == typeof(long))
        {
            var ok = type == typeof(int)
                ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
            var largest = type == typeof(int) ? int.MaxValue.ToString(CultureInfo.InvariantCulture) : long.MaxValue.ToString(CultureInfo.InvariantCulture);
            return ok ? null : $"a whole number such as {setting.Default} (digits only, at most {largest})";
        }
        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text);
            return null;
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException or OverflowException)
        {
            return $"a valid {type.Name}";
        }
    }

    private static void Collect(Type type, object defaults, string prefix, List<Setting> settings)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var path = $"{prefix}:{property.Name}";
            var propertyType = property.PropertyType;
            var value = property.GetValue(defaults);
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
                settings.Add(new Setting(path, propertyType.GetGenericArguments()[1], null, IsDictionary: true));
            else if (propertyType.IsClass && propertyType != typeof(string))
                Collect(propertyType, value!, path, settings);
            else
                settings.Add(new Setting(path, propertyType, value, IsDictionary: false));
        }
    }
}

using Atlas.Cdc.Configuration;
using Confluent.SchemaRegistry;

namespace Atlas.Cdc.Schemas;

/// <summary>
/// Builds the configuration of Confluent's registry client from <c>Cdc:SchemaRegistry</c>. The relay retries and
/// caches by itself (<see cref="SchemaCache"/>), so the client makes one attempt per call with a bounded timeout
/// unless the operator says otherwise.
/// </summary>
internal static class RegistryClientSettings
{
    private const string Prefix = "schema.registry.";

    public static Dictionary<string, string> Build(SchemaRegistryOptions options)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SchemaRegistryConfig.PropertyNames.SchemaRegistryMaxRetries] = "1",
            [SchemaRegistryConfig.PropertyNames.SchemaRegistryRequestTimeoutMs] = "10000",
        };
        foreach (var (name, value) in options.Properties)
            config[FullName(name)] = value;
        config[SchemaRegistryConfig.PropertyNames.SchemaRegistryUrl] = options.Url;
        return config;
    }

    /// <summary>Confluent's property names carry the <c>schema.registry.</c> prefix; operators may leave it out.</summary>
    public static string FullName(string name) => name.StartsWith(Prefix, StringComparison.Ordinal) ? name : Prefix + name;

    /// <summary>Creates a client, which checks the property names and values without connecting.</summary>
    public static CachedSchemaRegistryClient CreateClient(SchemaRegistryOptions options) => new(Build(options));

    /// <summary>What is wrong with the registry settings, each naming the setting, or nothing. Values are never echoed.</summary>
    public static IEnumerable<string> Validate(SchemaRegistryOptions options)
    {
        foreach (var url in options.Url.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                yield return $"Cdc:SchemaRegistry:Url (env Cdc__SchemaRegistry__Url) has an entry that is not an http(s) URL: '{Redact(url)}'.";
        }
        if (options.Properties.Keys.Any(k => FullName(k) == SchemaRegistryConfig.PropertyNames.SchemaRegistryUrl))
            yield return "Cdc:SchemaRegistry:Properties:schema.registry.url: set the URL with Cdc:SchemaRegistry:Url (env Cdc__SchemaRegistry__Url) instead.";
        string? error = null;
        try
        {
            using var client = CreateClient(options);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidOperationException
                                      or System.Security.Cryptography.CryptographicException)
        {
            var message = e.Message;
            foreach (var (name, value) in options.Properties)
            {
                if (SecretSettings.IsSecret(name) || name.Contains("user.info", StringComparison.Ordinal) || name.Contains("token", StringComparison.Ordinal))
                    message = value.Length > 0 ? message.Replace(value, "***", StringComparison.Ordinal) : message;
            }
            var set = options.Properties.Count == 0 ? "none" : string.Join(", ", options.Properties.Keys.Order(StringComparer.Ordinal));
            error = $"Confluent's registry client refused the settings: {message}. Check Cdc:SchemaRegistry:Properties " +
                    $"(env Cdc__SchemaRegistry__Properties__NAME; set: {set}) and Cdc:SchemaRegistry:Url.";
        }
        if (error is not null)
            yield return error;
    }

    /// <summary>A URL with its user information (credentials) hidden, for logs and errors.</summary>
    public static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0
            ? url.Replace(uri.UserInfo + "@", "***@", StringComparison.Ordinal)
            : url;
}

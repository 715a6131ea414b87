namespace Atlas.Cdc.Configuration;

/// <summary>Which pass-through client properties hold secrets, so that no log line or error message shows their values.</summary>
public static class SecretSettings
{
    /// <summary>True for passwords, secrets, OAuth configuration and private keys (Kafka's and the schema registry's names).</summary>
    public static bool IsSecret(string name) =>
        name.Contains("password", StringComparison.OrdinalIgnoreCase) ||
        name.Contains("secret", StringComparison.OrdinalIgnoreCase) ||
        name.Contains("sasl.oauthbearer.config", StringComparison.OrdinalIgnoreCase) ||
        name.EndsWith(".key.pem", StringComparison.OrdinalIgnoreCase);
}

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Prometheus' own checker (<c>promtool</c>, from Debian's <c>prometheus</c> package): lints a metrics
/// exposition, validates configuration and rule files, and runs alert-rule unit tests.
/// </summary>
public static class Promtool
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary><c>promtool check metrics</c>: the exposition parses and follows Prometheus' naming conventions.</summary>
    /// <param name="exposition">The text a <c>/metrics</c> endpoint returned.</param>
    /// <param name="cancellationToken">Kills promtool when cancelled.</param>
    public static Task<PromtoolResult> CheckMetricsAsync(string exposition, CancellationToken cancellationToken = default) =>
        RunAsync(["check", "metrics"], exposition, cancellationToken);

    /// <summary><c>promtool check config</c>: a Prometheus configuration file and the rule files it names.</summary>
    /// <param name="configFile">Path of prometheus.yml.</param>
    /// <param name="cancellationToken">Kills promtool when cancelled.</param>
    public static Task<PromtoolResult> CheckConfigAsync(string configFile, CancellationToken cancellationToken = default) =>
        RunAsync(["check", "config", configFile], null, cancellationToken);

    /// <summary><c>promtool check rules</c>: recording and alerting rule files.</summary>
    /// <param name="ruleFiles">Paths of the rule files.</param>
    public static Task<PromtoolResult> CheckRulesAsync(params string[] ruleFiles) =>
        RunAsync(["check", "rules", .. ruleFiles], null, CancellationToken.None);

    /// <summary><c>promtool test rules</c>: alert-rule unit tests.</summary>
    /// <param name="testFiles">Paths of the test files (their <c>rule_files</c> are relative to them).</param>
    public static Task<PromtoolResult> TestRulesAsync(params string[] testFiles) =>
        RunAsync(["test", "rules", .. testFiles], null, CancellationToken.None);

    private static async Task<PromtoolResult> RunAsync(string[] arguments, string? standardInput, CancellationToken cancellationToken)
    {
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync("promtool", arguments, standardInput, timeout: s_timeout, cancellationToken: cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message} Install it with: apt-get install -y prometheus", e);
        }
        return new PromtoolResult(result.Command, result.ExitCode, (result.StandardOutput + result.StandardError).Trim());
    }
}

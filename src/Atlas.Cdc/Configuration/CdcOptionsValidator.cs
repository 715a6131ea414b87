using System.Text.RegularExpressions;

namespace Atlas.Cdc.Configuration;

/// <summary>
/// Checks the values of settings (names, ranges, durations) before anything connects; each error names the setting
/// and its environment variable. Rules that belong to a feature live with it (see Hosting/RelaySettings.cs).
/// </summary>
public static partial class CdcOptionsValidator
{
    public static IReadOnlyList<string> Validate(CdcOptions options)
    {
        var errors = new List<string>();
        if (!SlotName().IsMatch(options.Slot))
            errors.Add($"Cdc:Slot (env Cdc__Slot) '{options.Slot}' is not a valid replication slot name: use 1-63 lower-case letters, digits and underscores.");
        if (string.IsNullOrWhiteSpace(options.Publication))
            errors.Add("Cdc:Publication (env Cdc__Publication) is empty.");
        if (options.MaxInFlightEvents < 1)
            errors.Add("Cdc:MaxInFlightEvents (env Cdc__MaxInFlightEvents) must be at least 1.");
        if (options.MaxInFlightBytes < 1024)
            errors.Add("Cdc:MaxInFlightBytes (env Cdc__MaxInFlightBytes) must be at least 1024.");
        Positive(errors, options.ConfirmInterval, "ConfirmInterval");
        Positive(errors, options.ShutdownTimeout, "ShutdownTimeout");
        Positive(errors, options.ReconnectDelay, "ReconnectDelay");
        Positive(errors, options.ReconnectMaxDelay, "ReconnectMaxDelay");
        Positive(errors, options.StandbyRetryInterval, "StandbyRetryInterval");
        Positive(errors, options.Postgres.SlotStatsInterval, "Postgres:SlotStatsInterval");
        Positive(errors, options.Retention.Interval, "Retention:Interval");
        if (options.Retention.Age < TimeSpan.Zero)
            errors.Add($"Cdc:Retention:Age (env Cdc__Retention__Age) must be zero or a positive duration such as 01:00:00 (got {Durations.Format(options.Retention.Age)}).");
        if (options.Retention.BatchSize is < 1 or > 100_000)
            errors.Add($"Cdc:Retention:BatchSize (env Cdc__Retention__BatchSize) must be 1 to 100000 (got {options.Retention.BatchSize}).");
        return errors;
    }

    private static void Positive(List<string> errors, TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
            errors.Add($"Cdc:{name} (env Cdc__{name.Replace(":", "__")}) must be a positive duration such as 00:00:05 (got {Durations.Format(value)}).");
    }

    [GeneratedRegex("^[a-z0-9_]{1,63}$")]
    private static partial Regex SlotName();
}

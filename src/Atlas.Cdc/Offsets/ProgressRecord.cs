namespace Atlas.Cdc.Offsets;

/// <summary>The slot's row in atlas_cdc_progress (sql/006_relay_progress.sql).</summary>
/// <param name="Horizon">The newest proven delivery horizon, or null when none is proven yet (then no row is known delivered).</param>
/// <param name="Pending"><see cref="Backfill"/> or <see cref="Recovery"/> while rows are being published from the table; null otherwise.</param>
internal sealed record ProgressRecord(DeliveryHorizon? Horizon, string? Pending)
{
    public const string Backfill = "backfill";
    public const string Recovery = "recovery";

    public override string ToString() => Horizon is { } horizon ? $"horizon {horizon}" : "no horizon proven yet";
}

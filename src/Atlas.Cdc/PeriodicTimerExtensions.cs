namespace Atlas.Cdc;

internal static class PeriodicTimerExtensions
{
    /// <summary>Waits for the next tick; false once cancelled, instead of throwing.</summary>
    public static async Task<bool> TickAsync(this PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

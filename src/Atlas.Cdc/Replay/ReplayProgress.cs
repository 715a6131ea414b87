namespace Atlas.Cdc.Replay;

/// <summary>
/// Progress on stderr, so stdout keeps only the one-line summary: a bar redrawn in place on a terminal, a plain
/// line now and then otherwise (logs, CI).
/// </summary>
internal sealed class ReplayProgress(long total)
{
    private const int BarWidth = 30;
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private bool _drawn;

    public void Report(long sent)
    {
        var share = total == 0 ? 1 : Math.Min(1, (double)sent / total);
        if (_terminal)
        {
            var filled = (int)(share * BarWidth);
            Console.Error.Write($"\r[{new string('#', filled)}{new string(' ', BarWidth - filled)}] {share:P0} {sent}/{total} events");
            _drawn = true;
        }
        else
        {
            Console.Error.WriteLine($"replay: {sent} of {total} events sent ({share:P0})");
        }
    }

    /// <summary>Ends the bar's line, if one was drawn.</summary>
    public void Done()
    {
        if (_drawn)
            Console.Error.WriteLine();
    }
}

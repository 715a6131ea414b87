using System.Globalization;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Identifies this process across runs so leftovers of a killed run (servers, kcat processes) can be told
/// apart from those of a run that is still alive.
/// </summary>
internal static class OwnerProcess
{
    /// <summary>"PID-STARTTIME" of the current process; the start time guards against a recycled PID.</summary>
    public static string Token { get; } = TokenFor(Environment.ProcessId) ?? Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether the process that produced <paramref name="token"/> is still running.</summary>
    public static bool IsAlive(string token)
    {
        var dash = token.IndexOf('-', StringComparison.Ordinal);
        var pidText = dash < 0 ? token : token[..dash];
        if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        var current = TokenFor(pid);
        return current is not null && (dash < 0 || current == token);
    }

    private static string? TokenFor(int pid)
    {
        try
        {
            // Field 22 of /proc/PID/stat is the start time in clock ticks since boot; the command name
            // (field 2) may contain spaces and parentheses, so fields are counted after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return $"{pid}-{fields[19]}";
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

using System.CommandLine;
using Atlas.Cdc.Hosting;
using Atlas.Cdc.Replay;

namespace Atlas.Cdc.CommandLine;

/// <summary>
/// The program's command line, in the dotnet CLI's habits: no command runs the relay (as it always did), verbs
/// are subcommands (<c>replay</c>), options are <c>--kebab-case</c>, <c>--help</c> answers on every level and
/// <c>--version</c> on the root. Exit codes are <see cref="ExitCodes"/>.
/// </summary>
public static class RelayCommandLine
{
    /// <summary>Parses <paramref name="args"/> and runs what they ask for; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand(
            "Atlas.Cdc relays a transactional outbox from PostgreSQL to Kafka. With no command it runs the relay until SIGTERM. " +
            "Settings come from appsettings.json and Cdc__* environment variables (docs/operations.md lists them).");
        // The relay's host handles SIGTERM itself (drain, confirm, exit 0), so the parser must not.
        root.SetAction((_, _) => RelayHost.RunAsync([]));
        root.Subcommands.Add(ReplayCommand.Create());

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            await Console.Error.WriteLineAsync($"Atlas.Cdc: {parsed.Errors[0].Message} See --help.");
            return ExitCodes.Configuration;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}

using System.Globalization;

namespace Atlas.Cdc.Sandbox;

/// <summary>
/// Stops servers and deletes the directories of temporary PostgreSQL instances: the instance's own, at dispose or
/// process exit, and those left by processes that died without cleaning up (SIGKILL). Synchronous and
/// exception-free, because it also runs from the process-exit hook.
/// </summary>
internal static class PostgresCleanup
{
    public const string DirectoryPrefix = "atlas-cdc-pg-";
    public const string OwnerFileName = "owner";
    public const string PidFileName = "postmaster.pid";

    /// <summary>Stops whatever server runs in <paramref name="baseDirectory"/> (pg_ctl, then kill) and deletes the directory.</summary>
    public static void Reap(string binDirectory, string baseDirectory, bool asServerUser)
    {
        var dataDirectory = Path.Combine(baseDirectory, "data");
        var pidFile = Path.Combine(dataDirectory, PidFileName);
        try
        {
            if (File.Exists(pidFile))
            {
                var (fileName, arguments) = PostgresTools.Command(
                    binDirectory, "pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"], asServerUser);
                var exitCode = ProcessRunner.RunSync(fileName, arguments, baseDirectory, TimeSpan.FromSeconds(40));
                if (exitCode != 0 && File.Exists(pidFile))
                    KillPostmaster(pidFile);
            }
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"Atlas.Cdc.Sandbox: stopping PostgreSQL in {dataDirectory} failed: {ex.Message}");
        }

        DeleteDirectory(baseDirectory);
    }

    /// <summary>Removes servers and directories left by processes that died without cleaning up (e.g. SIGKILL).</summary>
    public static void ReapOrphans(string binDirectory)
    {
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*").ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var directory in candidates)
        {
            try
            {
                var ownerFile = Path.Combine(directory, OwnerFileName);
                if (File.Exists(ownerFile))
                {
                    if (OwnerProcess.IsAlive(File.ReadAllText(ownerFile).Trim()))
                        continue;
                }
                else if (Directory.GetLastWriteTimeUtc(directory) > DateTime.UtcNow.AddMinutes(-10))
                {
                    // Possibly another process between creating the directory and writing its owner file.
                    continue;
                }

                Reap(binDirectory, directory, Environment.IsPrivilegedProcess);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Someone else's directory, or removed concurrently: not ours to fight over.
            }
        }
    }

    private static void KillPostmaster(string pidFile)
    {
        // Last resort when pg_ctl could not stop it: its backends exit by themselves once the postmaster is gone.
        var firstLine = File.ReadLines(pidFile).FirstOrDefault();
        if (!int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            return;
        try
        {
            using var postmaster = System.Diagnostics.Process.GetProcessById(pid);
            postmaster.Kill();
            postmaster.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException)
        {
            // Not running any more.
        }
    }

    private static void DeleteDirectory(string directory)
    {
        for (var attempt = 1; attempt <= 3 && Directory.Exists(directory); attempt++)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (attempt == 3)
                    Console.Error.WriteLine($"Atlas.Cdc.Sandbox: could not delete {directory}: {ex.Message}");
                else
                    Thread.Sleep(200);
            }
        }
    }
}

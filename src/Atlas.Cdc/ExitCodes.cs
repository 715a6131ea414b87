namespace Atlas.Cdc;

/// <summary>The process exit codes of the relay and of every command, in the dotnet CLI's habits.</summary>
public static class ExitCodes
{
    /// <summary>Done: the relay drained and stopped, or a command finished its work.</summary>
    public const int Done = 0;

    /// <summary>A command ran and failed (Kafka or PostgreSQL refused its work).</summary>
    public const int Failed = 1;

    /// <summary>A bad option or value, or a configuration error: nothing was published.</summary>
    public const int Configuration = 2;

    /// <summary>The relay halted on an event refused for good, by <c>Cdc:DeadLetter:Policy=Halt</c>.</summary>
    public const int Halted = 3;

    /// <summary>How every line that ends the process begins, whether logged or written before logging starts.</summary>
    public const string FatalPrefix = "Fatal: ";
}

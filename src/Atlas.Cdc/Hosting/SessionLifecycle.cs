using Atlas.Cdc.Reading;

namespace Atlas.Cdc.Hosting;

/// <summary>
/// The phases of a replication session and the only moves between them:
/// <code>
/// Preparing -> Starting -> Streaming -> Draining -> Flushing -> Stopped
///          \-> Draining (SIGTERM before the slot was seen held)
/// any live phase -> Failed (a failure), or -> Stopped (SIGTERM cancelled the work in progress)
/// </code>
/// It also owns the reader's side of a clean stop: the reader marks itself inside a transaction at each BEGIN and
/// outside at each COMMIT, and parks at a BEGIN once draining. Both sides write with a full fence and then read the
/// other's flag, so the drain cannot miss a transaction the reader is starting.
/// </summary>
internal sealed class SessionLifecycle : IReadGate
{
    private int _phase = (int)SessionPhase.Preparing;
    private int _inTransaction;

    /// <summary>The current phase; read from any thread.</summary>
    public SessionPhase Phase => (SessionPhase)Volatile.Read(ref _phase);

    /// <summary>True once the session held the slot and streamed (it may have ended since).</summary>
    public bool Streamed { get; private set; }

    /// <summary>True while the reader is between a BEGIN and its COMMIT.</summary>
    public bool InTransaction => Volatile.Read(ref _inTransaction) == 1;

    /// <summary>False once reading must stop (flushing or ended): the reader parks on the next message.</summary>
    public bool MayRead => Phase is SessionPhase.Preparing or SessionPhase.Starting or SessionPhase.Streaming or SessionPhase.Draining;

    /// <summary>Moves to <paramref name="next"/>, or throws if the move is not one of the allowed ones.</summary>
    public void MoveTo(SessionPhase next)
    {
        while (true)
        {
            var current = Phase;
            if (!IsAllowed(current, next))
                throw new InvalidOperationException($"A replication session cannot move from {current} to {next}.");
            if (Interlocked.CompareExchange(ref _phase, (int)next, (int)current) == (int)current)
            {
                Streamed |= next == SessionPhase.Streaming;
                return;
            }
        }
    }

    /// <summary>Called by the reader at a BEGIN: false when the session is draining and the transaction must be left for the next relay, whole.</summary>
    public bool TryBeginTransaction()
    {
        Interlocked.Exchange(ref _inTransaction, 1);
        if (Phase is SessionPhase.Preparing or SessionPhase.Starting or SessionPhase.Streaming)
            return true;
        Interlocked.Exchange(ref _inTransaction, 0);
        return false;
    }

    /// <summary>Called by the reader at a COMMIT.</summary>
    public void EndTransaction() => Interlocked.Exchange(ref _inTransaction, 0);

    /// <summary>The table of moves; everything not listed is a bug.</summary>
    public static bool IsAllowed(SessionPhase from, SessionPhase to) => (from, to) switch
    {
        (SessionPhase.Stopped or SessionPhase.Failed, _) => false,
        (_, SessionPhase.Failed or SessionPhase.Stopped) => true,
        (SessionPhase.Preparing, SessionPhase.Starting) => true,
        (SessionPhase.Starting, SessionPhase.Streaming or SessionPhase.Draining) => true,
        (SessionPhase.Streaming, SessionPhase.Draining) => true,
        (SessionPhase.Draining, SessionPhase.Flushing) => true,
        _ => false,
    };
}

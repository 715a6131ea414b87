namespace Atlas.Cdc.Reading;

/// <summary>
/// What the session that owns a <see cref="ChangeStreamReader"/> lets it do: read on, and begin a transaction. A
/// clean stop parks the reader at a BEGIN, so no transaction is left half published.
/// </summary>
internal interface IReadGate
{
    /// <summary>False once reading must stop: the reader parks on the next message, leaving it unprocessed.</summary>
    bool MayRead { get; }

    /// <summary>Called at a BEGIN: false when the transaction must be left, whole, for the next session.</summary>
    bool TryBeginTransaction();

    /// <summary>Called at a COMMIT.</summary>
    void EndTransaction();
}

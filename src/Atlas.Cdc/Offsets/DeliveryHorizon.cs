using NpgsqlTypes;

namespace Atlas.Cdc.Offsets;

/// <summary>
/// A fact observed at one moment: every transaction with an id below <see cref="Xid"/> had ended, and its commit
/// record (if it committed) lay before <see cref="Lsn"/>. Once the slot's confirmed LSN reaches <see cref="Lsn"/>,
/// rows inserted by those transactions are delivered: the horizon is then <em>proven</em>
/// (see Retention/OutboxRetention.cs for the argument).
/// </summary>
internal readonly record struct DeliveryHorizon(ulong Xid, ulong Lsn)
{
    /// <summary>The 32-bit transaction id that row <c>xmin</c>s are compared with.</summary>
    public uint Xid32 => (uint)(Xid & uint.MaxValue);

    public override string ToString() => $"xid {Xid}, LSN {new NpgsqlLogSequenceNumber(Lsn)}";
}

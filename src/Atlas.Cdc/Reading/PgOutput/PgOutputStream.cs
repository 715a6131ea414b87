using Atlas.Cdc.Postgres;
using Npgsql.Replication;
using Npgsql.Replication.Internal;
using Npgsql.Replication.PgOutput;
using NpgsqlTypes;

namespace Atlas.Cdc.Reading.PgOutput;

/// <summary>
/// The slot's pgoutput stream as raw messages. Npgsql's typed pgoutput API reads every column of every row through
/// its own async enumerator and stream; the relay reads each message into one buffer and decodes it with
/// <see cref="PgOutputReader"/> instead, which took that part of the per-event CPU away (docs/benchmarks.md).
/// Npgsql still owns the connection, keepalives and status updates.
/// </summary>
internal sealed class PgOutputStream
{
    /// <summary>Messages up to this size reuse one buffer; a larger one (a big payload) gets its own array.</summary>
    private const int KeptBufferLimit = 1 << 20;

    private byte[] _buffer = new byte[64 * 1024];

    /// <summary>
    /// Starts streaming: protocol version 1, text values, no streaming of transactions in progress. With no
    /// <paramref name="startLsn"/> PostgreSQL starts at the slot's confirmed position.
    /// </summary>
    public static IAsyncEnumerable<XLogDataMessage> Start(LogicalReplicationConnection connection, string slot, string publication,
        ulong? startLsn, CancellationToken cancellationToken) =>
        connection.StartLogicalReplication(new PgOutputReplicationSlot(slot), cancellationToken,
            startLsn is { } lsn ? new NpgsqlLogSequenceNumber(lsn) : null,
            [new("proto_version", "1"), new("publication_names", PublicationNamesOption(publication))]);

    /// <summary>
    /// The publication_names value: an identifier list, so the name is double-quoted (inner quotes doubled), and it
    /// sits in a single-quoted literal of the START_REPLICATION command (single quotes doubled).
    /// </summary>
    public static string PublicationNamesOption(string publication) =>
        SqlCommands.QuoteIdentifier(publication).Replace("'", "''", StringComparison.Ordinal);

    /// <summary>The message the last <see cref="ReadAsync"/> read; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Current { get; private set; }

    /// <summary>
    /// Reads the whole message of <paramref name="data"/> into <see cref="Current"/>. Not an async method, and not
    /// generic over the message: the runtime cannot precompile an async method's builder for the relay's own types,
    /// and that quick-JIT code of a <c>ValueTask&lt;ReadOnlyMemory&lt;byte&gt;&gt;</c> was 3-5 % of a catch-up's CPU
    /// (docs/benchmarks.md, "Second round, part six"). A message already in Npgsql's buffer completes at once.
    /// </summary>
    public ValueTask ReadAsync(XLogDataMessage data)
    {
        var length = checked((int)data.Data.Length);
        var buffer = _buffer;
        if (length > buffer.Length)
        {
            buffer = new byte[length];
            if (length <= KeptBufferLimit)
                _buffer = buffer;
        }
        var message = buffer.AsMemory(0, length);
        Current = message;
        if (length == 0)
            return ValueTask.CompletedTask;
        // No token: the replication's own cancellation (Npgsql's user action) already breaks a stalled read.
        var first = data.Data.ReadAsync(message);
        return first.IsCompletedSuccessfully && first.Result == length ? ValueTask.CompletedTask : ReadRestAsync(data.Data, message, first);
    }

    private static async ValueTask ReadRestAsync(Stream stream, Memory<byte> message, ValueTask<int> first)
    {
        var read = await first.ConfigureAwait(false);
        if (read == 0)
            throw new EndOfStreamException($"The replication stream ended inside a message of {message.Length} bytes.");
        await stream.ReadExactlyAsync(message[read..]).ConfigureAwait(false);
    }
}

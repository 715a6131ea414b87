namespace Atlas.Cdc.Reading.PgOutput;

/// <summary>
/// The pgoutput messages the relay acts on, decoded from <see cref="PgOutputReader"/>. The layouts are those of
/// protocol version 1 without streaming, which the relay asks for (<see cref="PgOutputStream"/>).
/// </summary>
internal static class PgOutputMessages
{
    public const byte Begin = (byte)'B';
    public const byte Commit = (byte)'C';
    public const byte Relation = (byte)'R';
    public const byte Insert = (byte)'I';

    /// <summary>Messages the relay reads past: origin, type, update, delete, truncate, logical decoding message.</summary>
    public static bool IsIgnored(byte type) => type is (byte)'O' or (byte)'Y' or (byte)'U' or (byte)'D' or (byte)'T' or (byte)'M';

    public static (ulong FinalLsn, DateTime CommitTime) ReadBegin(ReadOnlySpan<byte> message, ulong walStart)
    {
        var reader = new PgOutputReader(message, walStart);
        return ReadBegin(ref reader);
    }

    /// <summary>'B': final LSN of the transaction, commit time, xid.</summary>
    public static (ulong FinalLsn, DateTime CommitTime) ReadBegin(ref PgOutputReader reader)
    {
        reader.ReadByte();
        var finalLsn = reader.ReadUInt64();
        var commitTime = reader.ReadTimestamp();
        return (finalLsn, commitTime);
    }

    public static (ulong CommitLsn, ulong EndLsn) ReadCommit(ReadOnlySpan<byte> message, ulong walStart)
    {
        var reader = new PgOutputReader(message, walStart);
        return ReadCommit(ref reader);
    }

    /// <summary>'C': flags, commit LSN, end LSN (where the next transaction may start), commit time.</summary>
    public static (ulong CommitLsn, ulong EndLsn) ReadCommit(ref PgOutputReader reader)
    {
        reader.ReadByte();
        reader.ReadByte(); // flags, unused
        var commitLsn = reader.ReadUInt64();
        var endLsn = reader.ReadUInt64();
        return (commitLsn, endLsn);
    }

    /// <summary>'R': the relation's id, schema, name, column names and types, sent before its first row in a session.</summary>
    public static RelationDescription ReadRelation(ref PgOutputReader reader)
    {
        reader.ReadByte();
        var id = reader.ReadUInt32();
        var schema = reader.ReadString();
        var name = reader.ReadString();
        reader.ReadByte(); // replica identity
        var count = reader.ReadInt16();
        var columns = new string[count];
        var types = new uint[count];
        for (var i = 0; i < count; i++)
        {
            reader.ReadByte(); // flags: part of the key
            columns[i] = reader.ReadString();
            types[i] = reader.ReadUInt32();
            reader.ReadInt32(); // type modifier
        }
        return new RelationDescription(id, schema, name, columns, types);
    }

    /// <summary>'I': the relation's id; the reader is left at the new tuple's column count.</summary>
    public static uint ReadInsertHeader(ref PgOutputReader reader)
    {
        reader.ReadByte();
        var relationId = reader.ReadUInt32();
        if (reader.ReadByte() != (byte)'N')
            throw reader.Malformed("an insert's tuple is not marked 'N'");
        return relationId;
    }
}

/// <summary>A relation as a pgoutput 'R' message describes it.</summary>
internal sealed record RelationDescription(uint Id, string Schema, string Name, string[] Columns, uint[] ColumnTypes);

using Atlas.Cdc.Events;
using Atlas.Cdc.Reading.PgOutput;

namespace Atlas.Cdc.Reading;

/// <summary>
/// The relations a session's stream has described (pgoutput sends an 'R' message before a relation's first row),
/// which outbox each one is, and where its columns sit. Rows of other published tables are skipped.
/// </summary>
internal sealed class OutboxRelations(OutboxCatalog outboxes, string publication, ILogger logger)
{
    private readonly Dictionary<uint, OutboxColumnMap?> _columns = new();

    // The relation of the last insert: most inserts follow one of the same table, and the lookup then skips the
    // dictionary.
    private uint _lastRelationId;
    private OutboxColumnMap? _lastColumns;

    public void Describe(ReadOnlySpan<byte> message, ulong walStart)
    {
        var reader = new PgOutputReader(message, walStart);
        var relation = PgOutputMessages.ReadRelation(ref reader);
        var outbox = outboxes.ForTable(relation.Schema, relation.Name);
        _columns[relation.Id] = outbox is null ? null : OutboxColumnMap.Create(relation.Columns, relation.ColumnTypes, outbox);
        _lastColumns = null; // a relation described again (ALTER TABLE) must not be decoded with its old columns
        if (outbox is null)
            logger.LogWarning("Publication {Publication} also publishes {Schema}.{Table}; the relay ignores its rows",
                publication, relation.Schema, relation.Name);
    }

    /// <summary>The outbox event of an insert, or null for a row of another table.</summary>
    public OutboxEvent? Decode(ReadOnlySpan<byte> insert, ulong walStart)
    {
        var reader = new PgOutputReader(insert, walStart);
        var relationId = PgOutputMessages.ReadInsertHeader(ref reader);
        var columns = _lastColumns is not null && _lastRelationId == relationId ? _lastColumns : Lookup(relationId, ref reader);
        return columns is null ? null : OutboxRowDecoder.Decode(ref reader, columns);
    }

    private OutboxColumnMap? Lookup(uint relationId, ref PgOutputReader reader)
    {
        if (!_columns.TryGetValue(relationId, out var columns))
            throw reader.Malformed($"relation {relationId} was not described by a relation message first");
        _lastRelationId = relationId;
        _lastColumns = columns;
        return columns;
    }
}

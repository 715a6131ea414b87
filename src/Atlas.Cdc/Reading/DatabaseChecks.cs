using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Postgres;
using Npgsql;

namespace Atlas.Cdc.Reading;

/// <summary>
/// Start-up checks with ordinary queries, so that misconfiguration ends the relay with one message that names the
/// setting, table, publication or slot, instead of a replication error later or a silent retry loop. Every outbox is
/// checked, and every problem found is reported at once.
/// </summary>
internal sealed class DatabaseChecks(CdcOptions options, OutboxCatalog outboxes)
{
    private readonly string _connectionString = PostgresConnectionStrings.ForQueries(options.Postgres.ConnectionString);

    /// <summary>Runs every check; returns the slot as it is now.</summary>
    public async Task<SlotInfo> RunAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        var database = connection.Database;

        var walLevel = await connection.ScalarAsync<string>("SHOW wal_level", cancellationToken);
        if (walLevel != "logical")
            throw new FatalConfigurationException(
                $"PostgreSQL wal_level is '{walLevel}', logical replication needs wal_level = logical: set it in postgresql.conf " +
                "(or ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL.");

        var problems = new List<string>();
        var shapes = await OutboxTableShape.ReadAsync(connection, outboxes, cancellationToken);
        foreach (var shape in shapes)
        {
            if (!shape.Exists)
                problems.Add($"Outbox table {shape.Outbox.Table} ({shape.Outbox.TableSetting}) does not exist in database '{database}'. " +
                             "Apply the files in sql/ (a further outbox: sql/007_add_outbox.sql) or correct the setting.");
            else
                problems.AddRange(shape.Problems());
            if (shape.Exists && shape.Outbox.RetentionEnabled && options.Retention.Age > TimeSpan.Zero && shape.Outbox.CreatedAtColumn is { } createdAt
                && shape.TypeOf(createdAt) is null)
                problems.Add($"{shape.Outbox}: retention by age (Cdc:Retention:Age) needs its created-at column '{createdAt}', which is missing: " +
                             $"add it, name another with {shape.Outbox.ColumnSetting("CreatedAt")}, or turn retention off for it.");
        }
        var commitTimestamps = await connection.ScalarAsync<string>("SHOW track_commit_timestamp", cancellationToken) == "on";
        problems.AddRange(UnorderedPairs(shapes, commitTimestamps));
        if (problems.Count > 0)
            throw new FatalConfigurationException(string.Join(" ", problems));

        var publishesInserts = await connection.ScalarAsync<bool?>(
            "SELECT pubinsert FROM pg_publication WHERE pubname = $1", cancellationToken, options.Publication);
        if (publishesInserts is null)
            throw new FatalConfigurationException(
                $"Publication '{options.Publication}' (Cdc:Publication) does not exist in database '{database}'. " +
                $"Create it with: CREATE PUBLICATION {options.Publication} FOR TABLE {string.Join(", ", outboxes.All.Select(o => o.Table))} " +
                "WITH (publish = 'insert'); (sql/002_publication.sql)");
        if (publishesInserts == false)
            throw new FatalConfigurationException(
                $"Publication '{options.Publication}' (Cdc:Publication) does not publish inserts: ALTER PUBLICATION {options.Publication} SET (publish = 'insert');");
        foreach (var outbox in outboxes.All)
        {
            var includesTable = await connection.ScalarAsync<bool?>(
                "SELECT true FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
                cancellationToken, options.Publication, outbox.Table.Schema, outbox.Table.Name);
            if (includesTable != true)
                problems.Add($"Publication '{options.Publication}' (Cdc:Publication) does not include the outbox table {outbox.Table} ({outbox.TableSetting}): " +
                             $"ALTER PUBLICATION {options.Publication} ADD TABLE {outbox.Table};");
        }
        if (problems.Count > 0)
            throw new FatalConfigurationException(string.Join(" ", problems));

        var slot = await SlotCatalog.ReadAsync(connection, options.Slot, cancellationToken);
        CheckSlot(slot, database);
        return slot;
    }

    /// <summary>
    /// Outboxes that may route to the same topic: the stream keeps their commit order, but a backfill, recovery or
    /// replay reads their tables together and can order rows of two tables only by commit time
    /// (<c>track_commit_timestamp</c>) or by both tables' created-at columns. Without either, one key's events from
    /// the two tables would have no defined order there.
    /// </summary>
    private static IEnumerable<string> UnorderedPairs(IReadOnlyList<OutboxTableShape> shapes, bool commitTimestamps)
    {
        if (commitTimestamps)
            yield break;
        for (var i = 0; i < shapes.Count; i++)
        {
            for (var j = i + 1; j < shapes.Count; j++)
            {
                var (a, b) = (shapes[i].Outbox, shapes[j].Outbox);
                var lacking = new[] { shapes[i], shapes[j] }.FirstOrDefault(s => s.Outbox.CreatedAtColumn is not { } c || s.TypeOf(c) is null);
                if (lacking is null || !a.MayShareTopicWith(b))
                    continue;
                yield return $"Outboxes '{a.Name}' and '{b.Name}' may route to the same topic ('{a.TopicTemplate}', '{b.TopicTemplate}'). Streaming " +
                             "keeps their commit order, but a backfill, recovery or replay reads both tables and can order their rows only by commit " +
                             $"time (track_commit_timestamp is off) or by created-at columns ({lacking.Outbox} has none). Turn on track_commit_timestamp, " +
                             $"name a created-at column ({lacking.Outbox.ColumnSetting("CreatedAt")}), or give them topic templates that cannot meet.";
            }
        }
    }

    /// <summary>A slot of the same name that the relay can never use is a configuration error, not something to recover.</summary>
    private void CheckSlot(SlotInfo slot, string database)
    {
        if (!slot.Exists)
            return;
        var (plugin, slotType, slotDatabase) = (slot.Plugin, slot.SlotType, slot.Database);
        if (slotType != "logical" || plugin != "pgoutput")
            throw new FatalConfigurationException(
                $"Replication slot '{options.Slot}' (Cdc:Slot) is a {slotType} slot with plugin '{plugin ?? "none"}'; the relay needs a logical " +
                "slot with pgoutput. Drop that slot (SELECT pg_drop_replication_slot('" + options.Slot + "')) or choose another Cdc:Slot.");
        if (slotDatabase != database)
            throw new FatalConfigurationException(
                $"Replication slot '{options.Slot}' (Cdc:Slot) belongs to database '{slotDatabase}', but the relay connects to '{database}'.");
    }
}

using Atlas.Cdc.Configuration;
using Atlas.Cdc.Events;
using Atlas.Cdc.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.Reading;

/// <summary>
/// Start-up checks with ordinary queries, so that misconfiguration ends the relay with one message that names the
/// setting, table, publication or slot, instead of a replication error later or a silent retry loop.
/// </summary>
internal sealed class DatabaseChecks(CdcOptions options, OutboxTableName table)
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

        var tableOid = await connection.ScalarAsync<uint?>(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            cancellationToken, table.Schema, table.Name);
        if (tableOid is null)
            throw new FatalConfigurationException(
                $"Outbox table {table} (Cdc:Table) does not exist in database '{database}'. Apply the files in sql/ or set Cdc:Table.");

        var columns = new List<string>();
        await using (var command = new NpgsqlCommand(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = tableOid.Value, NpgsqlDbType = NpgsqlDbType.Oid });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                columns.Add(reader.GetString(0));
        }
        OutboxColumnMap.Create(columns, table);

        var publishesInserts = await connection.ScalarAsync<bool?>(
            "SELECT pubinsert FROM pg_publication WHERE pubname = $1", cancellationToken, options.Publication);
        if (publishesInserts is null)
            throw new FatalConfigurationException(
                $"Publication '{options.Publication}' (Cdc:Publication) does not exist in database '{database}'. " +
                $"Create it with: CREATE PUBLICATION {options.Publication} FOR TABLE {table} WITH (publish = 'insert'); (sql/002_publication.sql)");
        if (publishesInserts == false)
            throw new FatalConfigurationException(
                $"Publication '{options.Publication}' (Cdc:Publication) does not publish inserts: ALTER PUBLICATION {options.Publication} SET (publish = 'insert');");
        var includesTable = await connection.ScalarAsync<bool?>(
            "SELECT true FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
            cancellationToken, options.Publication, table.Schema, table.Name);
        if (includesTable != true)
            throw new FatalConfigurationException(
                $"Publication '{options.Publication}' (Cdc:Publication) does not include the outbox table {table} (Cdc:Table): " +
                $"ALTER PUBLICATION {options.Publication} ADD TABLE {table};");

        var slot = await SlotCatalog.ReadAsync(connection, options.Slot, cancellationToken);
        CheckSlot(slot, database);
        return slot;
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

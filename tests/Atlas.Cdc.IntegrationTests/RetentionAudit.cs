using Atlas.Cdc.Sandbox;
using Npgsql;
using NpgsqlTypes;

namespace Atlas.Cdc.IntegrationTests;

/// <summary>
/// Records every outbox row deleted in a scenario's database: the whole row, when, by which transaction, and
/// the slot's confirmed LSN at that moment. A superuser-owned trigger, so it sees what the relay's role cannot.
/// </summary>
internal sealed class RetentionAudit
{
    private readonly RelayScenario _scenario;

    private RetentionAudit(RelayScenario scenario) => _scenario = scenario;

    /// <summary>The committed rows of a <see cref="WriterLoad"/>: those still in the outbox plus those deleted.</summary>
    public const string AllRows =
        "(SELECT id, aggregate_type, aggregate_id, event_type, payload FROM public.outbox " +
        "UNION ALL SELECT id, aggregate_type, aggregate_id, event_type, payload FROM public.retention_audit) AS all_rows";

    public static async Task<RetentionAudit> InstallAsync(RelayScenario scenario)
    {
        await scenario.ScalarAsync<int>($"""
            CREATE TABLE public.retention_audit (
                id uuid, aggregate_type text, aggregate_id text, event_type text, payload jsonb, created_at timestamptz,
                deleted_at timestamptz, deleting_xid xid8, confirmed_at_delete pg_lsn);
            CREATE FUNCTION public.audit_outbox_delete() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            BEGIN
                INSERT INTO public.retention_audit VALUES (OLD.id, OLD.aggregate_type, OLD.aggregate_id, OLD.event_type, OLD.payload,
                    OLD.created_at, clock_timestamp(), pg_current_xact_id(),
                    (SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{scenario.Slot}'));
                RETURN OLD;
            END
            $$;
            CREATE TRIGGER audit_outbox_delete AFTER DELETE ON public.outbox FOR EACH ROW EXECUTE FUNCTION public.audit_outbox_delete();
            SELECT 1
            """);
        return new RetentionAudit(scenario);
    }

    public async Task<List<DeletedRow>> DeletedAsync()
    {
        await using var connection = await _scenario.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, deleted_at - created_at, deleting_xid::text, confirmed_at_delete FROM public.retention_audit", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<DeletedRow>();
        while (await reader.ReadAsync())
            rows.Add(new DeletedRow(reader.GetGuid(0), reader.GetFieldValue<TimeSpan>(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<NpgsqlLogSequenceNumber>(3)));
        return rows;
    }

    /// <summary>
    /// Every deleted row's event had been delivered before the delete: the slot was confirmed past the commit LSN
    /// the event carries in Kafka.
    /// </summary>
    public static void AssertDeletedOnlyAfterConfirmation(IEnumerable<DeletedRow> deleted, IEnumerable<KafkaRecord> records)
    {
        var commitLsnById = records.GroupBy(r => r.Header("id")!)
            .ToDictionary(g => g.Key, g => g.Min(r => NpgsqlLogSequenceNumber.Parse(r.Header("atlas.commit_lsn")!)));
        foreach (var row in deleted)
        {
            Assert.True(commitLsnById.TryGetValue(row.Id.ToString(), out var commitLsn), $"deleted row {row.Id} never reached Kafka");
            Assert.True(row.ConfirmedAtDelete > commitLsn,
                $"row {row.Id} was deleted while the slot was confirmed to {row.ConfirmedAtDelete}, not past its commit at {commitLsn}");
        }
    }
}

/// <summary>One row as the audit trigger saw it deleted.</summary>
internal sealed record DeletedRow(Guid Id, TimeSpan Age, string DeletingXid, NpgsqlLogSequenceNumber? ConfirmedAtDelete);

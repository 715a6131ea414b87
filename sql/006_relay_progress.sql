-- Durable progress (src/Atlas.Cdc/Offsets/ProgressStore.cs): per replication slot, the newest delivery horizon the relay has
-- proven. Every outbox row inserted by a transaction whose id is below horizon_xid has been acknowledged by
-- Kafka. With it the relay loses nothing when its slot is dropped or invalidated: it publishes again every row
-- not proven delivered. `pending` is set while a backfill or a recovery is not finished: a relay that finds it
-- set publishes those rows again before it streams.
-- Only the relay's role writes here. Safe to apply again: the table and its rows are kept.
CREATE TABLE IF NOT EXISTS public.atlas_cdc_progress (
    slot_name   text        PRIMARY KEY,
    horizon_xid xid8,
    horizon_lsn pg_lsn,
    pending     text        CHECK (pending IN ('backfill', 'recovery')),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE public.atlas_cdc_progress IS
    'Atlas.Cdc: per slot, the newest proven delivery horizon (rows of transactions below horizon_xid are delivered).';

REVOKE ALL ON public.atlas_cdc_progress FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON public.atlas_cdc_progress TO atlas_cdc_relay;

-- Backfill, recovery and replay publish rows read through SQL, payloads included. The relay's role already
-- receives every payload of the outbox through its slot, and REPLICATION lets it decode every table of the
-- database with any output plugin, so reading the outbox adds nothing it could not see before (docs/adr/
-- 0016-the-relay-s-own-role-reads-the-outbox.md). It still cannot write to the outbox.
GRANT SELECT ON public.outbox TO atlas_cdc_relay;

-- Rows deleted before they were proven delivered (by hand: retention deletes only below the recorded horizon).
-- A recovery cannot publish them again; it reports them (error line, atlas_cdc_recovery_rows_missing_total).
-- The trigger notes each such row; it costs one lookup per deleted row and nothing on INSERT.
CREATE TABLE IF NOT EXISTS public.atlas_cdc_unproven_deletions (
    id           uuid        NOT NULL,
    inserted_xid xid         NOT NULL,
    deleted_at   timestamptz NOT NULL DEFAULT now(),
    deleted_by   name        NOT NULL DEFAULT session_user
);

REVOKE ALL ON public.atlas_cdc_unproven_deletions FROM PUBLIC;
GRANT SELECT, DELETE ON public.atlas_cdc_unproven_deletions TO atlas_cdc_relay;

CREATE OR REPLACE FUNCTION public.atlas_cdc_note_unproven_deletion() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    every_row boolean;
    horizon   xid;
    inserted  xid;
BEGIN
    -- No relay has recorded anything yet: nothing is relayed from this table, nothing to note.
    IF NOT EXISTS (SELECT 1 FROM public.atlas_cdc_progress) THEN
        RETURN OLD;
    END IF;
    every_row := EXISTS (SELECT 1 FROM public.atlas_cdc_progress WHERE horizon_xid IS NULL);
    SELECT (horizon_xid::text::numeric % 4294967296)::text::xid INTO horizon
        FROM public.atlas_cdc_progress WHERE horizon_xid IS NOT NULL ORDER BY horizon_xid LIMIT 1;
    IF TG_OP = 'TRUNCATE' THEN
        EXECUTE format('INSERT INTO public.atlas_cdc_unproven_deletions (id, inserted_xid) '
                       'SELECT id, xmin FROM %I.%I WHERE $1 OR age(xmin) <= age($2)', TG_TABLE_SCHEMA, TG_TABLE_NAME)
            USING every_row, horizon;
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT xmin FROM %I.%I WHERE id = $1', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO inserted USING OLD.id;
    IF inserted IS NOT NULL AND (every_row OR age(inserted) <= age(horizon)) THEN
        INSERT INTO public.atlas_cdc_unproven_deletions (id, inserted_xid) VALUES (OLD.id, inserted);
    END IF;
    RETURN OLD;
END
$$;

REVOKE ALL ON FUNCTION public.atlas_cdc_note_unproven_deletion() FROM PUBLIC;

CREATE OR REPLACE TRIGGER atlas_cdc_unproven_deletion BEFORE DELETE ON public.outbox
    FOR EACH ROW EXECUTE FUNCTION public.atlas_cdc_note_unproven_deletion();
CREATE OR REPLACE TRIGGER atlas_cdc_unproven_truncate BEFORE TRUNCATE ON public.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION public.atlas_cdc_note_unproven_deletion();

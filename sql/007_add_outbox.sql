-- A further outbox table with the contract's shape (for one service per schema, Cdc:Outboxes:<name>:Table):
--   CALL public.atlas_cdc_add_outbox('billing', 'outbox');
-- creates <schema>.<table> as sql/001 and sql/005 make public.outbox, its retention view as sql/004, the grants of
-- sql/003 and sql/006 for the two roles, the unproven-deletion triggers of sql/006, and adds it to the relay's
-- publication. Run it as the owner of the schema (or a superuser). Every step is idempotent: calling it again
-- changes nothing. Then list the table in the relay's settings and restart it.
CREATE OR REPLACE PROCEDURE public.atlas_cdc_add_outbox(outbox_schema text, outbox_table text,
    publication text DEFAULT 'atlas_cdc_outbox')
    LANGUAGE plpgsql AS $$
DECLARE
    qualified text := format('%I.%I', outbox_schema, outbox_table);
BEGIN
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', outbox_schema);
    EXECUTE format('CREATE TABLE IF NOT EXISTS %s (
        id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        aggregate_type  text        NOT NULL,
        aggregate_id    text        NOT NULL,
        event_type      text        NOT NULL,
        payload         jsonb       NOT NULL,
        headers         jsonb,
        created_at      timestamptz NOT NULL DEFAULT now(),
        idempotency_key text)', qualified);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (created_at)', outbox_table || '_created_at_idx', qualified);
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %s (idempotency_key) WHERE idempotency_key IS NOT NULL',
        outbox_table || '_idempotency_key_idx', qualified);
    EXECUTE format('ALTER TABLE %s SET (vacuum_truncate = false)', qualified);

    -- Retention's view: id, created_at and the inserting transaction, no payloads (sql/004).
    EXECUTE format('CREATE OR REPLACE VIEW %I.%I AS SELECT id, created_at, xmin AS inserted_xid FROM %s',
        outbox_schema, outbox_table || '_retention', qualified);

    -- The roles of sql/003: writers insert only; the relay reads (backfill, recovery, replay) and deletes what is delivered.
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', qualified);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO atlas_cdc_writer, atlas_cdc_relay', outbox_schema);
    EXECUTE format('GRANT INSERT ON %s TO atlas_cdc_writer', qualified);
    EXECUTE format('GRANT SELECT, DELETE ON %s TO atlas_cdc_relay', qualified);
    EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC', outbox_schema, outbox_table || '_retention');
    EXECUTE format('GRANT SELECT ON %I.%I TO atlas_cdc_relay', outbox_schema, outbox_table || '_retention');

    -- Rows deleted before they were proven delivered are noted, as for public.outbox (sql/006).
    EXECUTE format('CREATE OR REPLACE TRIGGER atlas_cdc_unproven_deletion BEFORE DELETE ON %s
        FOR EACH ROW EXECUTE FUNCTION public.atlas_cdc_note_unproven_deletion()', qualified);
    EXECUTE format('CREATE OR REPLACE TRIGGER atlas_cdc_unproven_truncate BEFORE TRUNCATE ON %s
        FOR EACH STATEMENT EXECUTE FUNCTION public.atlas_cdc_note_unproven_deletion()', qualified);

    IF NOT EXISTS (SELECT 1 FROM pg_publication_tables
                   WHERE pubname = publication AND schemaname = outbox_schema AND tablename = outbox_table) THEN
        EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', publication, qualified);
    END IF;
END
$$;

COMMENT ON PROCEDURE public.atlas_cdc_add_outbox(text, text, text) IS
    'Atlas.Cdc: creates a further outbox table with the contract''s shape, its grants, and adds it to the publication.';

REVOKE ALL ON PROCEDURE public.atlas_cdc_add_outbox(text, text, text) FROM PUBLIC;

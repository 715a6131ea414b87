-- Durable progress (src/Atlas.Cdc/Recovery): per replication slot, the newest delivery horizon the relay has
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
-- database with any output plugin, so reading the outbox adds nothing it could not see before (README,
-- "Roles and what each can see"). It still cannot write to the outbox.
GRANT SELECT ON public.outbox TO atlas_cdc_relay;

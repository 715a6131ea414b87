-- The outbox contract: application teams INSERT here inside their business transactions.
-- Safe to apply again: every statement is idempotent.
CREATE TABLE IF NOT EXISTS public.outbox (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    event_type     text        NOT NULL,
    payload        jsonb       NOT NULL,
    headers        jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Outbox retention deletes by age; the index keeps those small batches cheap.
CREATE INDEX IF NOT EXISTS outbox_created_at_idx ON public.outbox (created_at);

COMMENT ON TABLE public.outbox IS
    'Transactional outbox: one row per event. Atlas.Cdc relays inserts to Kafka from the WAL.';

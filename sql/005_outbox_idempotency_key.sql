-- Idempotency keys (the Atlas.Cdc.Outbox writer, docs/application-teams.md): an optional key per event; a
-- second event with the same key is not stored. Writers insert with ON CONFLICT DO NOTHING and no conflict target,
-- which needs INSERT only (naming the column as conflict target would need SELECT on it).
-- Keys live as long as their rows: outbox retention (Cdc:Retention:Age) is the de-duplication window.
-- The index is partial: rows without a key (most of them) cost nothing extra. The relay ignores the column.
-- Safe to apply again.
ALTER TABLE public.outbox ADD COLUMN IF NOT EXISTS idempotency_key text;

CREATE UNIQUE INDEX IF NOT EXISTS outbox_idempotency_key_idx
    ON public.outbox (idempotency_key) WHERE idempotency_key IS NOT NULL;

COMMENT ON COLUMN public.outbox.idempotency_key IS
    'Optional idempotency key: at most one row per key while rows are kept (Cdc:Retention:Age).';

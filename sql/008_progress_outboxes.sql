-- Which outbox tables each slot's relay has covered (Cdc:Outboxes): a table listed later, not yet in this array,
-- is backfilled on its own at the relay's next start, without publishing the others again. NULL (a relay from
-- before several outboxes) means: the tables configured at the next start are the covered ones.
-- Safe to apply again.
ALTER TABLE public.atlas_cdc_progress ADD COLUMN IF NOT EXISTS outboxes text[];

COMMENT ON COLUMN public.atlas_cdc_progress.outboxes IS
    'Atlas.Cdc: the outbox tables (schema.table) whose rows the slot''s relay has published or streams.';

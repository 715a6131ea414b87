-- The publication the relay's replication slot decodes: inserts on the outbox only.
-- Deletes done by outbox retention are therefore never decoded.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'atlas_cdc_outbox') THEN
        CREATE PUBLICATION atlas_cdc_outbox FOR TABLE public.outbox WITH (publish = 'insert');
    END IF;
END
$$;

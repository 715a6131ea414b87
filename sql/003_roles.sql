-- Least-privilege roles. Passwords are never kept in this repository: set them after applying, e.g.
--   ALTER ROLE atlas_cdc_relay PASSWORD '...';
-- and grant the writer role to each application's login role:
--   GRANT atlas_cdc_writer TO orders_service;

DO $$
BEGIN
    -- Application writers: may add events to the outbox, and nothing else. They cannot read, change or delete
    -- other teams' events.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atlas_cdc_writer') THEN
        CREATE ROLE atlas_cdc_writer NOLOGIN;
    END IF;

    -- The relay: REPLICATION to own and stream its slot (not a superuser). Outbox retention needs to find and
    -- delete confirmed rows (id, created_at, DELETE); sql/006_relay_progress.sql adds SELECT on the whole table
    -- for backfill, recovery and replay, and says why that exposes nothing new.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atlas_cdc_relay') THEN
        CREATE ROLE atlas_cdc_relay LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

REVOKE ALL ON public.outbox FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO atlas_cdc_writer, atlas_cdc_relay;
GRANT INSERT ON public.outbox TO atlas_cdc_writer;
GRANT SELECT (id, created_at), DELETE ON public.outbox TO atlas_cdc_relay;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO atlas_cdc_writer, atlas_cdc_relay', current_database());
END
$$;

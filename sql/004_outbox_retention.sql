-- Outbox retention (Cdc:Retention:*): the relay deletes rows whose events are delivered and confirmed.
-- To know that a row's transaction committed before a point it has confirmed, it needs the row's inserting
-- transaction id (the xmin system column). Reading a system column needs SELECT on the whole table, which would
-- expose payloads; this view shows the relay only id, created_at and xmin, with its owner's rights.
-- A custom Cdc:Table needs the same view named <table>_retention in the table's schema.
-- Safe to apply again.
CREATE OR REPLACE VIEW public.outbox_retention AS
    SELECT id, created_at, xmin AS inserted_xid FROM public.outbox;

COMMENT ON VIEW public.outbox_retention IS
    'For Atlas.Cdc outbox retention: which transaction inserted each outbox row (no payloads).';

REVOKE ALL ON public.outbox_retention FROM PUBLIC;
GRANT SELECT ON public.outbox_retention TO atlas_cdc_relay;

-- Retention deletes the oldest rows; when the outbox then drains, (auto)vacuum would truncate the empty pages at
-- the table's end, which takes an ACCESS EXCLUSIVE lock that every INSERT queues behind. Keep those pages instead
-- (they are reused by the next inserts), so that inserts never wait for anything retention set off.
ALTER TABLE public.outbox SET (vacuum_truncate = false);

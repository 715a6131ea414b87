-- One demo batch: a few events per transaction, spread over three aggregate types and 50 aggregates.
-- Run as atlas_demo_writer, which may only INSERT into the outbox.
INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload)
SELECT (ARRAY['Order', 'Invoice', 'Shipment'])[1 + n % 3],
       'demo-' || (floor(random() * 50))::int,
       'Changed',
       jsonb_build_object('n', n, 'written_at', clock_timestamp())
FROM generate_series(1, 5) AS n;

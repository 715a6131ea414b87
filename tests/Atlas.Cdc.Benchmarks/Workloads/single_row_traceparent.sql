-- single_row.sql with a sampled W3C traceparent in the headers column, as the writer library fills it in: the live
-- tracing rows (2t) give every row a trace of its own, so a relay with tracing on parses it and makes a span per event.
\set k random(1, 1000)
\set q random(1, 5)
INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, headers) VALUES ('order', 'order-' || :k, 'OrderPlaced', jsonb_build_object('ts', extract(epoch FROM clock_timestamp()), 'customer', :k, 'sku', 'SKU-' || lpad(:k::text, 5, '0'), 'quantity', :q, 'amount', round(:k * 1.37 + :q, 2), 'currency', 'EUR', 'note', 'benchmark order event, about 170 bytes long'), jsonb_build_object('traceparent', '00-' || md5(random()::text) || '-' || left(md5(random()::text), 16) || '-01'));

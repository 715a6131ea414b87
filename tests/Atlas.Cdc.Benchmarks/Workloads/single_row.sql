-- One outbox insert per transaction, a ~170-byte payload (jsonb's text, as the relay sends it), 1,000 keys: the
-- shape of issue 23's independent run. "ts" is the row's clock_timestamp() (epoch seconds, microseconds): the live
-- benchmark measures latency from it to the moment a Kafka consumer sees the message.
\set k random(1, 1000)
\set q random(1, 5)
INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', 'order-' || :k, 'OrderPlaced', jsonb_build_object('ts', extract(epoch FROM clock_timestamp()), 'customer', :k, 'sku', 'SKU-' || lpad(:k::text, 5, '0'), 'quantity', :q, 'amount', round(:k * 1.37 + :q, 2), 'currency', 'EUR', 'note', 'benchmark order event, about 170 bytes long'));

-- The workload of the runs before issue 23 (`--workload single_row_100b.sql`, for comparison with them): one outbox
-- insert per transaction, ~100-byte payload, 1,000 keys. "ts" is the row's clock_timestamp() (epoch seconds,
-- microseconds): the live benchmark measures latency from it to the moment a Kafka consumer sees the message.
\set k random(1, 1000)
INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', 'order-' || :k, 'OrderPlaced', jsonb_build_object('ts', extract(epoch FROM clock_timestamp()), 'customer', :k, 'note', 'benchmark event, about one hundred bytes of JSON'));

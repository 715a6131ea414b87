#!/usr/bin/env bash
# Demo only: writes outbox events the way an application would, a small transaction every
# DEMO_INTERVAL_SECONDS, as role atlas_demo_writer (connection from the PG* environment variables).
set -euo pipefail

interval="${DEMO_INTERVAL_SECONDS:-0.2}"
until pg_isready --quiet; do
    sleep 1
done
echo "demo-writer: inserting outbox events every ${interval}s as ${PGUSER}"
while true; do
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet -f "$(dirname "$0")/insert-events.sql" || echo "demo-writer: insert failed, retrying"
    sleep "$interval"
done

#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data directory (docker-entrypoint-initdb.d):
# applies the repository's sql/ in name order, then gives the relay and the demo writer their passwords.
# The passwords come from the environment (docker-compose.yml); none is kept in this repository's SQL.
set -euo pipefail

sql_dir="${ATLAS_CDC_SQL_DIR:-/atlas-cdc/sql}"
: "${ATLAS_CDC_RELAY_PASSWORD:?set ATLAS_CDC_RELAY_PASSWORD}"
: "${ATLAS_CDC_DEMO_WRITER_PASSWORD:?set ATLAS_CDC_DEMO_WRITER_PASSWORD}"
psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}")

for file in "$sql_dir"/*.sql; do
    echo "atlas-cdc: applying $file"
    "${psql[@]}" --quiet -f "$file"
done

"${psql[@]}" --quiet \
    -v relay_password="$ATLAS_CDC_RELAY_PASSWORD" \
    -v writer_password="$ATLAS_CDC_DEMO_WRITER_PASSWORD" <<'SQL'
ALTER ROLE atlas_cdc_relay PASSWORD :'relay_password';
-- The demo application: a login role that may only insert into the outbox, like any application team's role.
CREATE ROLE atlas_demo_writer LOGIN PASSWORD :'writer_password' IN ROLE atlas_cdc_writer;
SQL
echo "atlas-cdc: roles atlas_cdc_relay and atlas_demo_writer have their passwords"

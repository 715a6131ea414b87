#!/usr/bin/env bash
# README's first command: the relay on its embedded default. A throwaway PostgreSQL, an in-process
# Kafka-protocol broker, sample events flowing and printed as they arrive in Kafka, metrics on :8080.
# Ctrl+C stops everything. Extra arguments go to the demo (e.g. --duration 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh
dotnet build src/Atlas.Cdc.Demo -c Release -v quiet -nologo
exec dotnet run --no-build -c Release --project src/Atlas.Cdc.Demo -- "$@"

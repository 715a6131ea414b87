#!/usr/bin/env bash
# README's second command: installs what the tests need, builds, and runs every test (unit, then integration
# against a real PostgreSQL 15 and a Kafka-protocol broker, then the outbox writer library). Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh
dotnet build Atlas.Cdc.sln -c Release -v quiet -nologo

log=$(mktemp)
status=0
for project in tests/Atlas.Cdc.UnitTests tests/Atlas.Cdc.IntegrationTests tests/Atlas.Cdc.Outbox.Tests; do
    dotnet test "$project" -c Release --no-build 2>&1 | tee -a "$log" || status=1
done

# One summary line per test assembly: "Passed!  - Failed:     0, Passed:    39, Skipped: ..."
summaries=$(grep -E '^(Passed|Failed)! +- ' "$log" || true)
passed=$(echo "$summaries" | { grep -oE 'Passed: +[0-9]+' || true; } | awk '{s+=$2} END {print s+0}')
failed=$(echo "$summaries" | { grep -oE 'Failed: +[0-9]+' || true; } | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then status=1; fi
exit $status

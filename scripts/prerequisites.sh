#!/usr/bin/env bash
# Installs the OS packages Atlas.Cdc's demo and tests need, when they are missing (Debian/Ubuntu, as root or with sudo):
#   kcat             the independent Kafka consumer the tests and the demo read back with (it brings Debian's
#                    librdkafka1 for itself; the relay never uses it: it loads librdkafka 2.16 from its NuGet package)
#   postgresql-15    server binaries for the throwaway PostgreSQL (initdb, pg_ctl, pg_recvlogical, pgbench)
#   prometheus       promtool and a real Prometheus for the metrics and dashboard tests
set -euo pipefail

packages=()
command -v kcat >/dev/null 2>&1 || packages+=(kcat)
[ -x /usr/lib/postgresql/15/bin/initdb ] || packages+=(postgresql-15 postgresql-client-15)
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)

if [ ${#packages[@]} -gt 0 ]; then
    echo "installing OS packages: ${packages[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    # Debian starts a cluster and a Prometheus on install; the project starts its own throwaway servers.
    $sudo systemctl stop prometheus postgresql >/dev/null 2>&1 || true
    $sudo service prometheus stop >/dev/null 2>&1 || true
    $sudo service postgresql stop >/dev/null 2>&1 || true
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET 10 SDK (dotnet) is not on PATH; install it from your distribution or Microsoft's packages." >&2
    exit 1
fi

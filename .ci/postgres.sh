#!/usr/bin/env bash
# Install (if needed) and start a PostgreSQL server on 127.0.0.1 for the distributed-storage tests,
# then print the URL to use. Idempotent: safe to run again on a machine where it already ran.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "/etc/postgresql/$version/main/postgresql.conf"
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true  # "already running" is fine
for _ in $(seq 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
su postgres -c "psql -qtc \"SELECT 1 FROM pg_roles WHERE rolname='paretoml'\" | grep -q 1 || psql -qc \"CREATE ROLE paretoml LOGIN PASSWORD 'paretoml'\"" >/dev/null
# CREATEDB: the many-workers tests start workers on a fresh, empty database of their own each time
su postgres -c "psql -qc \"ALTER ROLE paretoml CREATEDB\"" >/dev/null
su postgres -c "psql -qtc \"SELECT 1 FROM pg_database WHERE datname='paretoml_test'\" | grep -q 1 || createdb -O paretoml paretoml_test" >/dev/null
echo "postgresql+psycopg://paretoml:paretoml@127.0.0.1:5432/paretoml_test"

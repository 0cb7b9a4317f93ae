#!/usr/bin/env bash
# `make demo-cli`: a local demo database, the project's migrations applied,
# then status and history. Re-running it shows an idempotent no-op apply.
set -euo pipefail
cd "$(dirname "$0")/.."
db="${DEMO_DATABASE:-dbmigrate_demo}"
export DATABASE_URL="${DEMO_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$db}"
if [ -z "${DEMO_DATABASE_URL:-}" ]; then
  exists=$(psql -X -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$db'")
  [ "$exists" = "1" ] || psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "create database $db"
fi
dbmigrate() { node --liftoff-only dist/cli/dbmigrate.js "$@"; }
echo "== dbmigrate plan"
dbmigrate plan --log-level warn || true
echo
echo "== dbmigrate apply"
dbmigrate apply
echo
echo "== dbmigrate status"
dbmigrate status
echo
echo "== dbmigrate history"
dbmigrate history

#!/usr/bin/env bash
# Makes the machine's PostgreSQL usable by the tests: starts it when stopped and builds
# pgvector from Debian trixie's source package when CREATE EXTENSION vector is unavailable.
# Idempotent; the pgvector build is cached in $DBM_CACHE keyed by version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER

psql_ok() { psql -X -q -d postgres -tAc 'select 1' >/dev/null 2>&1; }

if ! psql_ok; then
  log "PostgreSQL on $PGHOST:$PGPORT does not answer; starting the local cluster"
  command -v pg_ctlcluster >/dev/null || die "PostgreSQL is not reachable at $PGHOST:$PGPORT and pg_ctlcluster is not installed"
  for conf in /etc/postgresql/*/; do
    [ -d "$conf" ] || continue
    pg_ctlcluster --skip-systemctl-redirect "$(basename "$conf")" main start || true
  done
  for _ in $(seq 1 30); do psql_ok && break; sleep 1; done
  psql_ok || die "PostgreSQL did not start; check /var/log/postgresql/"
fi

server_major=$(psql -X -d postgres -tAc 'show server_version_num' | cut -c1-2)
pgconfig="/usr/lib/postgresql/$server_major/bin/pg_config"

vector_available() {
  [ "$(psql -X -d postgres -tAc "select count(*) from pg_available_extensions where name='vector'")" = "1" ]
}

if ! vector_available; then
  [ "$(id -u)" = "0" ] || die "pgvector is missing and installing it needs root (run this script as root once)"
  log "pgvector is not installed for PostgreSQL $server_major; building it from Debian's source package"
  if [ ! -x "$pgconfig" ] || ! [ -f "/usr/include/postgresql/$server_major/server/postgres.h" ]; then
    if ! dpkg -s "postgresql-server-dev-$server_major" >/dev/null 2>&1; then
      apt-get update -qq || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-$server_major" make gcc >/dev/null ||
        die "could not install postgresql-server-dev-$server_major"
    fi
  fi
  trixie_apt apt-get update -qq || die "could not read Debian trixie's source index"
  ver=$(trixie_apt apt-cache showsrc pgvector 2>/dev/null | awk '/^Version:/ {print $2; exit}' || true)
  [ -n "$ver" ] || die "Debian trixie has no pgvector source package"
  build="$DBM_CACHE/pgvector-$ver-pg$server_major"
  if [ ! -f "$build/.built" ]; then
    rm -rf "$build" && mkdir -p "$build"
    (cd "$build" && trixie_apt apt-get source --download-only pgvector >/dev/null) || die "could not download pgvector $ver source"
    (cd "$build" && tar -xf pgvector_*.orig.tar.* && mv pgvector-*/ src) || die "could not unpack pgvector $ver"
    make -s -C "$build/src" PG_CONFIG="$pgconfig" OPTFLAGS="" >/dev/null || die "pgvector build failed"
    touch "$build/.built"
  fi
  make -s -C "$build/src" PG_CONFIG="$pgconfig" install >/dev/null || die "pgvector install failed"
  vector_available || die "pgvector was installed but PostgreSQL still does not list it"
  log "pgvector $ver installed"
fi

# Prove the extension really loads, in a throwaway database.
probe="dbm_setup_probe_$$"
psql -X -q -d postgres -c "create database $probe" >/dev/null
trap 'psql -X -q -d postgres -c "drop database if exists $probe" >/dev/null 2>&1' EXIT
psql -X -q -d "$probe" -c 'create extension vector' >/dev/null || die "CREATE EXTENSION vector failed"
log "PostgreSQL $(psql -X -d postgres -tAc 'show server_version') with pgvector $(psql -X -d "$probe" -tAc "select extversion from pg_extension where extname='vector'") is ready on $PGHOST:$PGPORT"

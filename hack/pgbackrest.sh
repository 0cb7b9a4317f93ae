#!/usr/bin/env bash
# Fetches (once, cached by version) pgBackRest from Debian's pgbackrest package, for the
# `pgbackrest` snapshot method's integration tests and benchmarks. Prints the path of the
# binary. Idempotent. DBM_PGBACKREST_VERSION overrides the version.
# A test that runs it as the `postgres` system user (which cannot enter a 0700 home) copies
# it somewhere that user can reach.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PGBACKREST_VERSION="${DBM_PGBACKREST_VERSION:-2.45}"
dest="$DBM_CACHE/pgbackrest-$PGBACKREST_VERSION"

if [ ! -x "$dest/pgbackrest" ]; then
  log "fetching pgbackrest $PGBACKREST_VERSION from Debian (first time only)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq "pgbackrest=$PGBACKREST_VERSION*" 2>/dev/null) ||
    (cd "$work" && apt-get download -qq pgbackrest) ||
    die "could not download pgbackrest from Debian"
  dpkg -x "$work"/pgbackrest_*.deb "$work/root"
  bin="$work/root/usr/bin/pgbackrest"
  [ -x "$bin" ] || die "pgbackrest was not in the package"
  mkdir -p "$dest"
  install -m 755 "$bin" "$dest/pgbackrest.partial"
  # Its libraries (libpq5, libssl3, libxml2, lz4, zstd, bz2) are the base system's.
  "$dest/pgbackrest.partial" version >&2 || die "pgbackrest does not run here (missing libraries?)"
  mv "$dest/pgbackrest.partial" "$dest/pgbackrest"
fi
echo "$dest/pgbackrest"

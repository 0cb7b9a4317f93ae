#!/usr/bin/env bash
# Builds (once, cached by version) dbmate, the Go migration tool bench/engine measures the CLI
# beside, from the Go module proxy through a throwaway module, the way promtool.sh and helm.sh
# build theirs (`go install ...@version` is refused here). Prints the binary's path. Idempotent.
# Not part of `make test`: only the benchmark needs it. DBM_DBMATE_VERSION overrides the version;
# the benchmark takes DBM_DBMATE_BIN (the binary) instead of running this when it is set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DBMATE_VERSION="${DBM_DBMATE_VERSION:-2.28.0}"
dest="$DBM_CACHE/dbmate-v$DBMATE_VERSION"
mkdir -p "$dest/bin"

if [ ! -x "$dest/bin/dbmate" ]; then
  enter_go_build_module "$DBM_CACHE/dbmate-build-$DBMATE_VERSION" dbmate
  if [ ! -f go.mod ]; then
    log "preparing a build module for dbmate v$DBMATE_VERSION"
    printf 'module dbmigrate.local/dbmatebuild\n\ngo 1.26\n\nrequire github.com/amacneil/dbmate/v2 v%s\n' "$DBMATE_VERSION" >go.mod.tmp
    # dbmate's main package is the module's root (main.go), not a cmd/ directory.
    cat >tools.go <<'GO'
//go:build tools

package dbmatebuild

import _ "github.com/amacneil/dbmate/v2"
GO
    mv go.mod.tmp go.mod
  fi
  go mod tidy >&2 || die "go mod tidy failed for the dbmate build module in $PWD"
  log "building dbmate v$DBMATE_VERSION (first time only; about a minute)"
  # Without cgo dbmate leaves out its SQLite driver only; PostgreSQL is pure Go.
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dest/bin/dbmate.partial" \
    github.com/amacneil/dbmate/v2
  "$dest/bin/dbmate.partial" --version >&2 || die "the built dbmate does not run here"
  mv "$dest/bin/dbmate.partial" "$dest/bin/dbmate"
fi
echo "$dest/bin/dbmate"

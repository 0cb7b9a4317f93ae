#!/usr/bin/env bash
# Builds (once, cached by version) Prometheus's promtool from the Go module proxy through a
# throwaway module, the way helm.sh builds helm, for the tests that check the operator's metrics
# (`promtool check metrics`) and the chart's alert rules (`promtool test rules`). Prints the bin
# directory. Idempotent. DBM_PROMETHEUS_VERSION overrides the module version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROMETHEUS_VERSION="${DBM_PROMETHEUS_VERSION:-0.316.0}"
dest="$DBM_CACHE/promtool-v$PROMETHEUS_VERSION"
mkdir -p "$dest/bin"

if [ ! -x "$dest/bin/promtool" ]; then
  enter_go_build_module "$DBM_CACHE/promtool-build-$PROMETHEUS_VERSION" promtool
  if [ ! -f go.mod ]; then
    log "preparing a build module for promtool (prometheus v$PROMETHEUS_VERSION)"
    printf 'module dbmigrate.local/promtoolbuild\n\ngo 1.26\n\nrequire github.com/prometheus/prometheus v%s\n' "$PROMETHEUS_VERSION" >go.mod.tmp
    cat >tools.go <<'GO'
//go:build tools

package promtoolbuild

import _ "github.com/prometheus/prometheus/cmd/promtool"
GO
    mv go.mod.tmp go.mod
  fi
  go mod tidy >&2 || die "go mod tidy failed for the promtool build module in $PWD"
  log "building promtool (prometheus v$PROMETHEUS_VERSION; first time only, about 3 minutes)"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dest/bin/promtool.partial" \
    github.com/prometheus/prometheus/cmd/promtool
  mv "$dest/bin/promtool.partial" "$dest/bin/promtool"
fi
echo "$dest/bin"

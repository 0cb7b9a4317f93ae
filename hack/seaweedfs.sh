#!/usr/bin/env bash
# Builds (once, cached by version) SeaweedFS's `weed`, the S3-compatible server the snapshot
# storage tests run on loopback (`weed server -s3`), from the Go module proxy through a
# throwaway module, the way dbmate.sh and helm.sh build theirs (`go install ...@version` is
# refused here). Prints the binary's path. Idempotent. DBM_SEAWEEDFS_VERSION overrides the
# module version; the tests take DBM_WEED_BIN (the binary) instead of running this when set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# SeaweedFS publishes no Go module versions: the proxy serves pseudo-versions of its commits.
SEAWEEDFS_VERSION="${DBM_SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
dest="$DBM_CACHE/seaweedfs-$SEAWEEDFS_VERSION"
mkdir -p "$dest/bin"

if [ ! -x "$dest/bin/weed" ]; then
  enter_go_build_module "$DBM_CACHE/seaweedfs-build-$SEAWEEDFS_VERSION" seaweedfs
  if [ ! -f go.mod ]; then
    log "preparing a build module for SeaweedFS $SEAWEEDFS_VERSION"
    printf 'module dbmigrate.local/weedbuild\n\ngo 1.26\n\nrequire github.com/seaweedfs/seaweedfs %s\n' "$SEAWEEDFS_VERSION" >go.mod.tmp
    cat >tools.go <<'GO'
//go:build tools

package weedbuild

import _ "github.com/seaweedfs/seaweedfs/weed"
GO
    mv go.mod.tmp go.mod
  fi
  go mod tidy >&2 || die "go mod tidy failed for the SeaweedFS build module in $PWD"
  log "building weed $SEAWEEDFS_VERSION (first time only; about five minutes)"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dest/bin/weed.partial" \
    github.com/seaweedfs/seaweedfs/weed
  "$dest/bin/weed.partial" version >&2 || die "the built weed does not run here"
  mv "$dest/bin/weed.partial" "$dest/bin/weed"
fi
echo "$dest/bin/weed"

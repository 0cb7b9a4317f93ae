#!/usr/bin/env bash
# Fetches (once, cached by version) Squawk's native linux-x64 binary from the npm registry's
# @squawk-cli/linux-x64 package, for bench/lint, which measures our linter beside it. Not a
# package.json dependency: squawk-cli's other platform packages are not served here, so a lock
# file naming them breaks `npm ci`. Prints the binary's path. DBM_SQUAWK_VERSION overrides.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SQUAWK_VERSION="${DBM_SQUAWK_VERSION:-2.66.0}"
dest="$DBM_CACHE/squawk-$SQUAWK_VERSION"

if [ ! -x "$dest/squawk" ]; then
  log "fetching squawk $SQUAWK_VERSION from the npm registry (first time only)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "@squawk-cli/linux-x64@$SQUAWK_VERSION" >/dev/null) ||
    die "could not download @squawk-cli/linux-x64@$SQUAWK_VERSION"
  tar -xzf "$work"/squawk-cli-linux-x64-*.tgz -C "$work"
  mkdir -p "$dest"
  install -m 0755 "$work/package/bin/squawk" "$dest/squawk.partial"
  "$dest/squawk.partial" --version >&2 || die "the downloaded squawk does not run here"
  mv "$dest/squawk.partial" "$dest/squawk"
fi
echo "$dest/squawk"

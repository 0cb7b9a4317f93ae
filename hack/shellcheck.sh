#!/usr/bin/env bash
# Fetches (once, cached by version) ShellCheck from Debian's shellcheck package, for the test that
# checks the project's shell scripts. Prints the path of the executable. Idempotent.
# DBM_SHELLCHECK_VERSION overrides the version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SHELLCHECK_VERSION="${DBM_SHELLCHECK_VERSION:-0.9.0}"
dest="$DBM_CACHE/shellcheck-$SHELLCHECK_VERSION"

if [ ! -x "$dest/shellcheck" ]; then
  log "fetching shellcheck $SHELLCHECK_VERSION from Debian (first time only)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq "shellcheck=$SHELLCHECK_VERSION*" 2>/dev/null) ||
    (cd "$work" && apt-get download -qq shellcheck) ||
    die "could not download shellcheck from Debian"
  dpkg -x "$work"/shellcheck_*.deb "$work/x"
  mkdir -p "$dest"
  install -m 0755 "$work/x/usr/bin/shellcheck" "$dest/shellcheck.partial"
  "$dest/shellcheck.partial" --version >&2 || die "the downloaded shellcheck does not run here"
  mv "$dest/shellcheck.partial" "$dest/shellcheck"
fi
echo "$dest/shellcheck"

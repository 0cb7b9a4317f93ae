#!/usr/bin/env bash
# Fetches (once, cached by version) a Lua 5.1 interpreter from Debian's lua5.1 package, for the
# Argo CD health-check tests (Argo CD runs them in gopher-lua, a Lua 5.1 dialect). Prints the
# path of an executable that runs it. Idempotent. DBM_LUA_VERSION overrides the version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LUA_VERSION="${DBM_LUA_VERSION:-5.1.5}"
dest="$DBM_CACHE/lua-$LUA_VERSION"

if [ ! -x "$dest/lua" ]; then
  log "fetching lua5.1 $LUA_VERSION from Debian (first time only)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq "lua5.1=$LUA_VERSION*" "liblua5.1-0=$LUA_VERSION*" 2>/dev/null) ||
    (cd "$work" && apt-get download -qq lua5.1 liblua5.1-0) ||
    die "could not download lua5.1 from Debian"
  mkdir -p "$dest/root"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$dest/root"; done
  bin=$(find "$dest/root" -name 'lua5.1' -type f | head -n1)
  lib=$(dirname "$(find "$dest/root" -name 'liblua5.1.so.0*' | head -n1)")
  [ -x "$bin" ] || die "lua5.1 was not in the package"
  # shellcheck disable=SC2016 # expanded by the wrapper when it runs
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' "$lib" "$bin" >"$dest/lua.partial"
  chmod +x "$dest/lua.partial"
  "$dest/lua.partial" -v >&2
  mv "$dest/lua.partial" "$dest/lua"
fi
echo "$dest/lua"

# shellcheck shell=bash
# Shared helpers for the hack/ scripts. Sourced, not executed.
# Heavy one-time artefacts live outside the clone so a fresh clone (CI) reuses them.
DBM_CACHE="${DBM_CACHE:-$HOME/.cache/db-migration-operator}"
# shellcheck disable=SC2034 # used by the scripts that source this
NODE_VERSION="${DBM_NODE_VERSION:-24.21.0}"
mkdir -p "$DBM_CACHE"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Runs apt-get or apt-cache (first argument) with a private apt configuration for Debian trixie sources, so the system's apt lists stay untouched.
trixie_apt() {
  local dir="$DBM_CACHE/apt-trixie"
  mkdir -p "$dir/lists/partial" "$dir/archives/partial"
  local mirror
  # The machine's own Debian mirror: the first URIs:/deb line that is not the security archive.
  mirror=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    grep -oE 'https?://[^ ]+' | grep -v security | head -n1 || true)
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\ndeb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' "$mirror" "$mirror" >"$dir/sources.list"
  local tool="$1"
  shift
  "$tool" -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache::Archives="$dir/archives" \
    -o APT::Sandbox::User=root "$@"
}

# Enters the throwaway Go module a tool is built in (created when missing), with Go on PATH.
# Usage: enter_go_build_module DIR WHAT
enter_go_build_module() {
  command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || die "Go is needed to build $2 (install Go 1.26+)"
  export PATH="/usr/local/go/bin:$PATH"
  mkdir -p "$1"
  cd "$1" || die "cannot enter $1"
}

# buildah with the storage driver that works on this kind of machine (no overlay mounts, no daemon)
# and the project's own image store in the cache, so its images and leftovers never mix with the
# machine's. DBM_BUILDAH overrides the binary, DBM_STORAGE_DRIVER the driver, DBM_IMAGE_STORE the store.
DBM_IMAGE_STORE="${DBM_IMAGE_STORE:-$DBM_CACHE/containers}"
bah() {
  "${DBM_BUILDAH:-buildah}" --storage-driver "${DBM_STORAGE_DRIVER:-vfs}" \
    --root "$DBM_IMAGE_STORE/storage" --runroot "$DBM_IMAGE_STORE/run" "$@"
}

# The official image the product's Dockerfile builds on (its NODE_IMAGE build argument) and the
# product image's name and tag, both read from package.json so every manifest names one image.
# shellcheck disable=SC2034 # used by the scripts that source this
NODE_IMAGE="${DBM_NODE_IMAGE:-docker.io/library/node:24-trixie-slim}"
product_image() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e 'const p = require(process.argv[1]); console.log(`${p.dbmigrate.image}:${p.version}`)' "$root/package.json"
}

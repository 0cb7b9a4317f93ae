# Shared helpers for the hack/ scripts. Sourced, not executed.
# Heavy one-time artefacts live outside the clone so a fresh clone (CI) reuses them.
DBM_CACHE="${DBM_CACHE:-$HOME/.cache/db-migration-operator}"
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
  cd "$1"
}

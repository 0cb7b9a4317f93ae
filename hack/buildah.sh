#!/usr/bin/env bash
# Installs (once) what building and running the product image needs on this kind of machine:
# Debian's buildah (builds with --isolation chroot --storage-driver vfs, no daemon) and
# debootstrap (for hack/base-image.sh). Prints the path of buildah. Idempotent; DBM_BUILDAH
# names another buildah to use instead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -n "${DBM_BUILDAH:-}" ]; then
  [ -x "$DBM_BUILDAH" ] || die "DBM_BUILDAH=$DBM_BUILDAH is not executable"
  echo "$DBM_BUILDAH"
  exit 0
fi

if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  [ "$(id -u)" = 0 ] || die "buildah and debootstrap are missing; install them (apt-get install buildah debootstrap) or run this as root"
  log "installing buildah and debootstrap from Debian (first time only)"
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah debootstrap >/dev/null ||
    die "could not install buildah and debootstrap with apt-get"
fi
command -v buildah

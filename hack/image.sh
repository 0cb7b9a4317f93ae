#!/usr/bin/env bash
# Builds the product image from the Dockerfile with buildah (no daemon: --isolation chroot,
# vfs storage in the project's own image store), on the base hack/base-image.sh provides, and
# prints its name:tag (package.json "dbmigrate.image" at the package version). Each stage is
# committed once (--layers=false: with vfs every layer is a full copy); npm's downloads are
# cached in a cache mount.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

node_bin=$(bash hack/node.sh)
export PATH="$node_bin:$PATH"
bash hack/buildah.sh >/dev/null
base=$(bash hack/base-image.sh)
image=$(product_image)
version=${image##*:}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)

# A build killed half-way leaves its working containers behind (full copies under vfs).
bah rm --all >/dev/null 2>&1 || true
started=$SECONDS
log "building $image on $base"
# Downloads in the build stage trust what this machine trusts (a TLS-inspecting proxy's CA),
# through a secret that no layer keeps.
ca="${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
bah bud --isolation chroot --pull=never --layers=false --quiet --secret "id=build_ca,src=$ca" \
  --build-arg "NODE_IMAGE=$base" --build-arg "VERSION=$version" \
  --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
  -f Dockerfile -t "$image" . >/dev/null
log "built $image in $((SECONDS - started)) s"
# vfs keeps every layer as a full copy: the earlier build of this tag (now nameless) and the
# build stage's image would cost hundreds of MB each, and a build killed half-way leaves its
# working containers behind.
bah rm --all >/dev/null 2>&1 || true
bah rmi --prune >/dev/null 2>&1 || true
echo "$image"

#!/usr/bin/env bash
# Builds the product image's pgbackrest variant (Dockerfile.pgbackrest: pgBackRest and the
# PostgreSQL 17 server with pgvector added, for the `pgbackrest` snapshot method) with buildah,
# on the product image DBM_IMAGE names, else the one hack/image.sh builds. Prints its name:tag:
# the product image's with "-pgbackrest" appended.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

base=${DBM_IMAGE:-$(bash hack/image.sh)}
image="$base-pgbackrest"
bah inspect --type image "$base" >/dev/null 2>&1 || die "no image $base in the project's image store (bash hack/image.sh builds it)"

# Nothing of the checkout goes into the image: an empty build context.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp Dockerfile.pgbackrest "$context/Dockerfile"
started=$SECONDS
log "building $image on $base"
bah bud --isolation chroot --pull=never --layers=false --quiet --build-arg "IMAGE=$base" \
  -f "$context/Dockerfile" -t "$image" "$context" >/dev/null
log "built $image in $((SECONDS - started)) s"
# The earlier build of this tag is now nameless: a full copy under vfs.
bah rm --all >/dev/null 2>&1 || true
bah rmi --prune >/dev/null 2>&1 || true
echo "$image"

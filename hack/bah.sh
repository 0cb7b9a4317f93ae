#!/usr/bin/env bash
# buildah on the project's image store (where hack/image.sh builds), for tests and people:
#   bash hack/bah.sh images
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bah "$@"

#!/usr/bin/env bash
# Builds (once, cached by version) the helm binary the chart tests run, from the Go module proxy
# through a throwaway module, the way control-plane.sh builds Kubernetes. Prints the bin
# directory. Idempotent. DBM_HELM_VERSION overrides the version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HELM_VERSION="${DBM_HELM_VERSION:-3.22.0}"
dest="$DBM_CACHE/helm-v$HELM_VERSION"
mkdir -p "$dest/bin"

if [ ! -x "$dest/bin/helm" ] || [ ! -f "$dest/bin/.kube-version-set" ]; then
  enter_go_build_module "$DBM_CACHE/helm-build-$HELM_VERSION" helm
  if [ ! -f go.mod ]; then
    log "preparing a build module for helm v$HELM_VERSION"
    printf 'module dbmigrate.local/helmbuild\n\ngo 1.26\n\nrequire helm.sh/helm/v3 v%s\n' "$HELM_VERSION" >go.mod.tmp
    cat >tools.go <<'GO'
//go:build tools

package helmbuild

import _ "helm.sh/helm/v3/cmd/helm"
GO
    mv go.mod.tmp go.mod
  fi
  go mod tidy >&2 || die "go mod tidy failed for the helm build module in $PWD"
  # Without these helm assumes Kubernetes 1.20 for `helm template` (its own Makefile sets them
  # from the client-go it is built with).
  kminor=$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
  log "building helm v$HELM_VERSION (first time only; about 2 minutes)"
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kminor" \
    -o "$dest/bin/helm.partial" helm.sh/helm/v3/cmd/helm
  mv "$dest/bin/helm.partial" "$dest/bin/helm"
  touch "$dest/bin/.kube-version-set"
fi
echo "$dest/bin"

#!/usr/bin/env bash
# Builds (once, cached by version) the real Kubernetes control plane the end-to-end tests run:
# etcd from Debian trixie's etcd-server package, and kube-apiserver, kube-controller-manager and
# kubectl built from the Go module proxy. Prints the bin directory. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

K8S_VERSION="${DBM_K8S_VERSION:-1.37.2}"
STAGING_VERSION="0.${K8S_VERSION#1.}"
dest="$DBM_CACHE/k8s-v$K8S_VERSION"
mkdir -p "$dest/bin"

# --- etcd ---------------------------------------------------------------------------------
if [ ! -x "$dest/bin/etcd" ]; then
  log "fetching etcd-server from Debian trixie"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  trixie_apt apt-get update -qq || die "could not read Debian trixie's package index"
  (cd "$work" && trixie_apt apt-get download -qq etcd-server) || die "could not download etcd-server"
  dpkg -x "$work"/etcd-server_*.deb "$work/x"
  install -m 0755 "$work/x/usr/bin/etcd" "$dest/bin/etcd"
  "$dest/bin/etcd" --version | head -n1 >&2
fi

# --- Kubernetes binaries --------------------------------------------------------------------
if [ ! -x "$dest/bin/kube-apiserver" ] || [ ! -x "$dest/bin/kubectl" ] || [ ! -x "$dest/bin/kube-controller-manager" ]; then
  enter_go_build_module "$DBM_CACHE/k8s-build-$K8S_VERSION" kube-apiserver
  if [ ! -f go.mod ]; then
    log "preparing a build module for Kubernetes v$K8S_VERSION"
    # Written to go.mod.tmp and renamed at the end, so an interrupted run starts over cleanly.
    cat > go.mod.tmp <<MOD
module dbmigrate.local/k8sbuild

go 1.26

require k8s.io/kubernetes v$K8S_VERSION
MOD
    # Every staging module k8s.io/kubernetes replaces with ./staging/... must be pinned to the
    # matching v0.x release; the list comes from that release's own go.mod.
    kgomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -f "$kgomod" ] || die "could not download k8s.io/kubernetes v$K8S_VERSION from the Go module proxy"
    grep -oE '^\s*k8s.io/[a-z0-9-]+ => \./staging' "$kgomod" | awk '{print $1}' | sort -u | while read -r m; do
      echo "replace $m => $m v$STAGING_VERSION" >> go.mod.tmp
    done
    cat > tools.go <<'GO'
//go:build tools

package k8sbuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    mv go.mod.tmp go.mod
  fi
  go mod tidy >&2 || die "go mod tidy failed for the Kubernetes build module in $PWD"
  # Without these the server reports v0.0.0-master, which kubectl cannot parse.
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  for cmd in kube-apiserver kubectl kube-controller-manager; do
    if [ ! -x "$dest/bin/$cmd" ]; then
      log "building $cmd v$K8S_VERSION (first time only; several minutes)"
      CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dest/bin/$cmd.partial" "k8s.io/kubernetes/cmd/$cmd"
      mv "$dest/bin/$cmd.partial" "$dest/bin/$cmd"
    fi
  done
fi
echo "$dest/bin"

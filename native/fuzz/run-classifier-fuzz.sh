#!/bin/sh
# Bounded fuzz run of the packet classifier under ASan+UBSan.
#   native/fuzz/run-classifier-fuzz.sh [seconds=10]
# With clang++ and libFuzzer: coverage-guided; otherwise g++ with the random driver.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-g -O1 -std=c++17 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -I$here/../src"
if command -v clang++ >/dev/null 2>&1; then
  clang++ $flags -fsanitize=fuzzer "$here/classifier_fuzz.cc" "$here/../src/packet_class.cc" -o "$out/fuzz"
  "$out/fuzz" -max_total_time="$seconds" -max_len=128
else
  g++ $flags "$here/classifier_fuzz.cc" "$here/random_driver.cc" "$here/../src/packet_class.cc" -o "$out/fuzz"
  "$out/fuzz" "$seconds"
fi

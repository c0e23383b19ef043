#!/usr/bin/env bash
# Runs test suites against an AddressSanitizer build of the engine (memory errors and,
# with LEAKS=1, leaks reported from the engine's own code).
#   bash scripts/asan-test.sh [test files...]     default: the decode and reader suites
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-asan --CDVIDGRAPH_SANITIZE=ON >/tmp/vidgraph-asan-build.log 2>&1 || { cat /tmp/vidgraph-asan-build.log; exit 1; }
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/decode-exact.test.mjs test/reader.test.mjs test/errors.test.mjs)
export VIDGRAPH_ADDON="$PWD/build-asan/Release/vidgraph.node"
# Tests skip what AddressSanitizer makes meaningless (address-space caps, RSS bounds: ASan
# reserves terabytes of shadow memory and quarantines freed blocks); the behaviour still runs.
export VIDGRAPH_SANITIZER=address
export LD_PRELOAD="$(g++ -print-file-name=libasan.so)"
# Node itself is not built with ASan: only report errors, and leaks that pass through vidgraph.
export ASAN_OPTIONS="detect_leaks=${LEAKS:-0}:abort_on_error=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
node --test --test-concurrency=1 "${files[@]}"

#!/usr/bin/env bash
# Builds the event fuzz target with clang in a build directory of its own (only shiplog_ledger and
# event_fuzz, with ASan and UBSan) and runs it over the seed corpus in tests/fuzz/corpus/event for
# a bounded time. Exits non-zero on any crash, leak, sanitizer report or failed round-trip check.
#
#   tests/fuzz/run_event_fuzz.sh [BUILD_DIR]   (default build/fuzz; SHIPLOG_FUZZ_SECONDS=60)
#
# ctest runs it as the test event_fuzz_corpus (tests/CMakeLists.txt).
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$src/build/fuzz}"
seconds="${SHIPLOG_FUZZ_SECONDS:-60}"

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSHIPLOG_FUZZ=ON -DSHIPLOG_TESTS=OFF -DSHIPLOG_WERROR=ON \
  -DCMAKE_CXX_FLAGS=-fno-sanitize-recover=undefined "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target event_fuzz

# New inputs go to a scratch directory: the checked-in corpus stays as it is.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# -max_len fits the largest seed (a JSON event nested 60,000 deep); -timeout catches a hang; a
# crashing input is kept as BUILD_DIR/crash-*.
"$build/bin/event_fuzz" -artifact_prefix="$build/" -max_total_time="$seconds" -runs=5000000 -timeout=10 -rss_limit_mb=2048 \
  -max_len=262144 -print_final_stats=1 "$scratch" "$src/tests/fuzz/corpus/event"

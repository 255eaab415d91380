#!/usr/bin/env bash
# The event fuzz target alone, as before tools/fuzz.sh ran them all: builds it with clang in its
# own build directory (ASan and UBSan) and runs it over tests/fuzz/corpus/event for a bounded
# time, leaving the corpus as it is. Exits non-zero on any crash, leak, sanitizer report or failed
# round-trip check.
#
#   tests/fuzz/run_event_fuzz.sh [BUILD_DIR]   (default build/fuzz; SHIPLOG_FUZZ_SECONDS=60)
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
SHIPLOG_FUZZ_BUILD="${1:-$src/build/fuzz}" exec "$src/tools/fuzz.sh" --no-keep \
  "${SHIPLOG_FUZZ_SECONDS:-60}" event_fuzz

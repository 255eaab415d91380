#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/CMakeLists.txt lists them) with clang, ASan and UBSan
# in a build directory of its own, and runs each in turn for SECONDS over its corpus in
# tests/fuzz/corpus/<name> (the target's name without _fuzz), with its dictionary
# tests/fuzz/<name>.dict when there is one. Inputs that reached new coverage are merged into the
# corpus (libFuzzer's -merge=1: only those that reach a new edge, so it stays small). Prints
# per target: executions, corpus size, crashes. Exits 1 if any target crashed, leaked, hung or
# broke an invariant; the input is kept as build/fuzz/crashes/<target>-crash-<sha1> (a timeout-,
# leak- or oom- prefix for those) and the line names it.
#
#   tools/fuzz.sh SECONDS [TARGET...]        (default: every target)
#   tools/fuzz.sh --no-keep SECONDS [TARGET...]
#       new inputs go to a scratch directory and the corpus is left as it is (the ctest smoke test)
#   tools/fuzz.sh --cpu SECONDS [TARGET...]
#       SECONDS of the target's own CPU time rather than of the clock, for a run on a machine that
#       is busy with other work (the fuzzer then runs at the lowest priority, taking what is idle)
#
# SHIPLOG_FUZZ_BUILD sets the build directory (default build/fuzz). The targets run one at a time,
# under nice: the machine is shared.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
keep=1
cpu=0
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --no-keep) keep=0 ;;
    --cpu) cpu=1 ;;
    *) echo "tools/fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
seconds="${1:?usage: tools/fuzz.sh [--no-keep] SECONDS [TARGET...]}"
shift
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(event_fuzz http_fuzz policy_fuzz policy_tests_fuzz bundle_fuzz snapshot_fuzz dsse_fuzz
    signature_fuzz)
fi
build="${SHIPLOG_FUZZ_BUILD:-$src/build/fuzz}"

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSHIPLOG_FUZZ=ON -DSHIPLOG_TESTS=OFF -DSHIPLOG_WERROR=ON \
  -DCMAKE_CXX_FLAGS=-fno-sanitize-recover=undefined "${launcher[@]}" >/dev/null
nice -n 5 cmake --build "$build" -j "$(nproc)" --target fuzz_seeds "${targets[@]}"

corpora="$src/tests/fuzz/corpus"
# The seeds made from the fuzz ledger (bundles, snapshots, requests): the same bytes every run.
if [[ $keep -eq 1 ]]; then "$build/bin/fuzz_seeds" "$corpora"; fi

crashes="$build/crashes"
mkdir -p "$crashes"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=0
printf '%-18s %12s %8s  %s\n' target executions corpus crashes
for target in "${targets[@]}"; do
  name="${target%_fuzz}"
  corpus="$corpora/$name"
  mkdir -p "$corpus" "$scratch/$name"
  dict=()
  if [[ -f "$src/tests/fuzz/$name.dict" ]]; then dict=(-dict="$src/tests/fuzz/$name.dict"); fi
  log="$build/$target.log"
  status=0
  # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: one that takes 2 GiB a leak.
  run=("$build/bin/$target" -artifact_prefix="$crashes/$target-" -timeout=10 -rss_limit_mb=2048
    -print_final_stats=1 "${dict[@]}" "$scratch/$name" "$corpus")
  if [[ $cpu -eq 0 ]]; then
    nice -n 10 "${run[@]}" -max_total_time="$seconds" >"$log" 2>&1 || status=$?
  else
    # libFuzzer runs in one process: its utime+stime (/proc/PID/stat, in clock ticks) is the CPU
    # the target had. SIGINT ends it with its final stats and exit code 72, which is no failure.
    nice -n 19 "${run[@]}" >"$log" 2>&1 &
    pid=$!
    budget=$((seconds * $(getconf CLK_TCK)))
    while kill -0 "$pid" 2>/dev/null; do
      used="$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
      if [[ "$used" -ge "$budget" ]]; then kill -INT "$pid"; break; fi
      sleep 5
    done
    wait "$pid" || status=$?
    if [[ $status -eq 72 ]]; then status=0; fi
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  found="$(grep -o "Test unit written to [^ ]*" "$log" | sed 's/Test unit written to //' || true)"
  if [[ $keep -eq 1 && $status -eq 0 ]]; then
    # -use_counters=0: an input is kept for a new edge, not for a new hit count of one.
    nice -n 10 "$build/bin/$target" -merge=1 -use_counters=0 "$corpus" "$scratch/$name" \
      >>"$log" 2>&1 || status=$?
  fi
  size="$(find "$corpus" -type f | wc -l)"
  if [[ $status -ne 0 ]]; then
    failed=1
    printf '%-18s %12s %8s  %s (exit %s; log %s)\n' "$target" "${execs:-?}" "$size" \
      "${found:-none saved}" "$status" "$log"
  else
    printf '%-18s %12s %8s  %s\n' "$target" "${execs:-?}" "$size" 0
  fi
done
exit $failed

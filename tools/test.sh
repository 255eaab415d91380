#!/usr/bin/env bash
# Installs what is missing, then builds and tests in one or more passes, each in a build directory
# of its own, and ends with the ctest summary line of each:
#   normal    the default compiler, the whole suite (build/)
#   sanitize  ASan + UBSan (-DSHIPLOG_SANITIZE=ON, the default compiler), the whole suite again
#             (build/sanitize): the tests that run in their own process built there, the fuzz
#             targets' corpora replayed included; the black-box tests (the CLI's and the server's)
#             are the normal tree's, run against build/sanitize's programs
#   tsan      ThreadSanitizer (build/tsan): `shiplog` and the concurrency tests only; runs those and
#             the normal tree's server tests against its `shiplog` (the tests labelled tsan)
#
#   Every tree is a unity build (SHIPLOG_UNITY), and the sanitized ones compile no black-box tests
#   (SHIPLOG_BLACKBOX_TESTS=OFF): a sanitizer pass builds the normal tree when it is not run.
#
#   tools/test.sh                        all three passes (CI: .ci/run)
#   tools/test.sh --pass normal          one pass (--pass may be repeated)
#   SHIPLOG_TEST_PASSES="normal tsan" tools/test.sh
#
# On two cores the three take about 24 minutes from a fresh clone, two thirds of it compiling
# (README, "The sanitizer passes", has the figures). The black-box tests make their setup in the
# test process (tests/cli/test_ledger.h), so the sanitized programs run only for what is tested.
#
# In CI (CI=true) the builds are -O1 without debug information: the same checks for less compiler
# time than RelWithDebInfo's -O2 -g, which the trees have elsewhere (build/ as tools/build.sh makes
# it). Fuzzing itself (libFuzzer, clang) is tools/fuzz.sh's, not a test pass.
set -euo pipefail
cd "$(dirname "$0")/.."

passes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pass)
      passes+=("${2:?--pass needs normal, sanitize or tsan}")
      shift 2
      ;;
    *) echo "tools/test.sh: unknown argument $1 (--pass normal|sanitize|tsan)" >&2; exit 2 ;;
  esac
done
if [[ ${#passes[@]} -eq 0 ]]; then
  read -r -a passes <<<"${SHIPLOG_TEST_PASSES:-normal sanitize tsan}"
fi
for pass in "${passes[@]}"; do
  case "$pass" in
    normal | sanitize | tsan) ;;
    *) echo "tools/test.sh: unknown pass $pass (normal, sanitize, tsan)" >&2; exit 2 ;;
  esac
done
wants() { [[ " ${passes[*]} " == *" $1 "* ]]; }

tools/setup.sh --tests

common=(-DSHIPLOG_TESTS=ON -DSHIPLOG_WERROR=ON)
optimize="-O2 -g -DNDEBUG"  # CMake's RelWithDebInfo
if [[ "${CI:-}" == true ]]; then optimize="-O1 -DNDEBUG"; fi
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$optimize")
# Under ccache the test executables are built without precompiled headers (SHIPLOG_PCH).
if command -v ccache >/dev/null && [[ -z "${CCACHE_DISABLE:-}" ]]; then
  common+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

summaries=()
failed=0
# run_ctest NAME DIR ARGS...: runs ctest (with the VARIABLE=value pairs of ctest_env in its
# environment), keeps its summary line for the end.
ctest_env=()
run_ctest() {
  local name="$1" dir="$2"
  shift 2
  local log status=0
  log="$(mktemp)"
  (cd "$dir" && env "${ctest_env[@]}" ctest --output-on-failure -j "$(nproc)" "$@") 2>&1 |
    tee "$log" || status=$?
  summaries+=("$name: $(grep -E '% tests passed' "$log" | tail -1)")
  # The failed tests' names, so that the end of a long log still says which tests to look at.
  while IFS= read -r line; do
    summaries+=("  $line")
  done < <(sed -n '/The following tests FAILED:/,/^$/{/^[[:space:]]*[0-9]\+ - /p}' "$log")
  rm -f "$log"
  if [[ $status -ne 0 ]]; then failed=1; fi
}

# run_blackbox NAME TREE ARGS...: the normal tree's black-box tests (the CLI's and the server's,
# which run programs) against TREE's programs, in TREE's sanitizer environment (TREE/sanitizer.env).
run_blackbox() {
  local name="$1" tree="$2"
  shift 2
  mapfile -t ctest_env <"$tree/sanitizer.env"
  ctest_env+=("SHIPLOG_TEST_PROGRAMS=$PWD/$tree/bin")
  run_ctest "$name" build "$@"
  ctest_env=()
}

# The sanitized trees build no black-box tests of their own (SHIPLOG_BLACKBOX_TESTS=OFF): theirs
# are the normal tree's, which a sanitizer pass builds when the normal pass does not run.
sanitized=(-DSHIPLOG_BLACKBOX_TESTS=OFF -DSHIPLOG_UNITY=ON)
if wants normal || wants sanitize || wants tsan; then
  tools/build.sh "${common[@]}" "${flags[@]}" -DSHIPLOG_UNITY=ON
fi
if wants normal; then
  run_ctest normal build
fi

if wants sanitize; then
  cmake -S . -B build/sanitize "${common[@]}" "${flags[@]}" "${sanitized[@]}" \
    -DSHIPLOG_SANITIZE=ON >/dev/null
  cmake --build build/sanitize -j "$(nproc)"
  run_ctest sanitize build/sanitize
  run_blackbox "sanitize, black-box" build/sanitize -L blackbox -LE unsanitized
fi

if wants tsan; then
  cmake -S . -B build/tsan "${common[@]}" "${flags[@]}" "${sanitized[@]}" -DSHIPLOG_TSAN=ON \
    >/dev/null
  cmake --build build/tsan -j "$(nproc)" --target shiplog shiplog_concurrency_tests
  run_ctest tsan build/tsan -L tsan
  run_blackbox "tsan, black-box" build/tsan -L tsan -LE unsanitized
fi

printf '%s\n' "${summaries[@]}"
exit $failed

# Helpers shared by the peer benchmarks (sourced, not run). Each script sets peer_name first.
# shellcheck shell=bash

# The peer cannot be had here: say so on stderr and as the one JSON line on stdout, and exit 0 so
# the run goes on with the other workloads.
skip() {
  local reason="${1//\"/\'}"
  echo "${peer_name:-peer} skipped: $reason" >&2
  printf '{"peer":"%s","skipped":"%s"}\n' "${peer_name:-peer}" "$reason"
  exit 0
}

# The benchmark went wrong (a wrong answer, a lost event): fail loudly rather than print a figure.
fail() {
  echo "${peer_name:-peer} benchmark failed: $1" >&2
  exit 1
}

require_command() {
  command -v "$1" >/dev/null || skip "$2"
}

# Runs a command with its output sent to stderr; prints the wall time it took, in seconds.
time_seconds() {
  local start end
  start=$(date +%s%N)
  "$@" >&2
  end=$(date +%s%N)
  awk -v ns="$((end - start))" 'BEGIN { printf "%.6f\n", ns / 1e9 }'
}

# COUNT per SECONDS, to one decimal.
rate() {
  awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f\n", n / s }'
}

# The median of the numbers given (the lower middle one for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

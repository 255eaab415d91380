#!/usr/bin/env bash
# Peer benchmark: one Cedar decision (@cedar-policy/cedar-wasm, preparsed, statefulIsAuthorized)
# on shiplog's production-start gate. Installs the pinned package with npm on first use.
# Prints progress on stderr and, as its last line on stdout, one JSON object with the figures
# (medians over the runs), or {"skipped": "..."} when node or the package cannot be had.
set -euo pipefail

usage() {
  echo "usage: $0 [--runs R] [--decisions N]   (defaults: 3 runs of 100000 decisions)" >&2
}

runs=3
decisions=100000
while (($#)); do
  case "$1" in
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    --decisions) decisions="${2:?--decisions needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

skip() {
  echo "cedar peer skipped: $1" >&2
  printf '{"peer":"cedar","skipped":"%s"}\n' "$1"
  exit 0
}

command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
if [[ ! -f "$here/node_modules/@cedar-policy/cedar-wasm/package.json" ]]; then
  command -v npm >/dev/null || skip "npm is not installed (apt-get install npm)"
  echo "installing @cedar-policy/cedar-wasm (pinned in package-lock.json)" >&2
  (cd "$here" && npm ci --no-audit --no-fund >&2) ||
    skip "npm ci of @cedar-policy/cedar-wasm failed"
fi

# The warm-up lets V8 compile the call path and the allocator settle before anything is timed.
node "$here/cedar_bench.mjs" --decisions "$decisions" --runs "$runs" --warmup 5000

#!/usr/bin/env bash
# Runs the whole benchmark comparison in one go and prints its table: shiplog's figures beside the
# machine's limits and the peers (git, PostgreSQL, Cedar) measured in the same run. See
# BENCHMARKS.md for the latest table and tools/bench/table.py for what each line compares.
#
# usage: tools/bench/run.sh [--runs R] [--events N] [--history DIR] [--out DIR] [--quick]
#   --runs R       every figure is the median of R runs (default 3)
#   --events N     size of the big workloads: the server memory run and the history ledger
#                  (default 1000000)
#   --history DIR  reuse a ledger an earlier run built (OUT/history); building one of 1M records
#                  takes about ten minutes
#   --out DIR      where each workload's JSON and the history ledger go (default bench-results)
#   --quick        tiny sizes, one run: checks the script end to end; the figures mean nothing
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=3 events=1000000 history="" out=bench-results quick=0
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --events) events="$2"; shift 2 ;;
    --history) history="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    *) sed -n '6,15p' "$0" >&2; exit 2 ;;
  esac
done
appends=20000 decisions=100000 git_events=300 pg_events=20000
if ((quick)); then
  runs=1 events=3000 appends=1000 decisions=2000 git_events=20 pg_events=500
fi

step() { echo "== $*" >&2; }

step "building shiplog and shiplog-bench (RelWithDebInfo)"
tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHIPLOG_BENCH=ON >/dev/null
cmake --build build -j "$(nproc)" --target shiplog shiplog-bench >/dev/null
bench=build/bin/shiplog-bench
shiplog=build/bin/shiplog
mkdir -p "$out"

step "1. the machine's limits"
"$bench" limits --runs "$runs" >"$out/limits.json"

step "2. append in process and over HTTP, 1, 8 and 64 clients"
for clients in 1 8 64; do
  "$bench" pipeline --clients "$clients" --records "$appends" --runs "$runs" >"$out/pipeline-$clients.json"
  "$bench" http --clients "$clients" --records "$appends" --runs "$runs" >"$out/http-$clients.json"
done

step "3. decide"
"$bench" decide --runs "$runs" >"$out/decide.json"

step "7. server memory: 64 clients append $events events"
"$bench" http --clients 64 --records "$events" --runs 1 >"$out/memory.json"

if [ -z "$history" ]; then
  history="$out/history"
  if [ ! -d "$history" ]; then
    step "4. building a history ledger of $events records in $history"
    "$bench" history --records "$events" --dir "$history" >"$out/history.json"
  fi
fi
step "4, 5. replay, verify and queries on $history"
"$bench" reads --dir "$history" --runs "$runs" >"$out/reads.json"

step "8. the Kubernetes admission decision on $history"
"$bench" admission --dir "$history" --runs "$runs" >"$out/admission.json"

step "7. replay's peak memory"
peak_rss() {  # the peak resident bytes of a command
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)' "$@"
}
last=$(("$("$shiplog" query --data "$history" --count | tr -dc 0-9)" - 1))
# A deployment requested late in the ledger: the costliest one-deployment question.
deployment=$("$shiplog" query --data "$history" --kind deploy.requested --from-seq $((last * 9 / 10)) |
  python3 -c 'import json, sys; print(json.loads(sys.stdin.readlines()[0])["event"]["deployment"])')
one=$(peak_rss "$shiplog" replay --data "$history" --deployment "$deployment" --at "$last")
whole=$(peak_rss "$shiplog" replay --data "$history" --deployment "$deployment" --at "$last" \
  --whole-ledger --no-snapshots)
echo "{\"deployment\": $one, \"whole_ledger\": $whole}" >"$out/replay-rss.json"

step "6. peers on the same event stream"
"$bench" events --records "$events" --out "$out/events.jsonl"
peers=tools/bench/peers
if [ -x "$peers/git_peer.sh" ]; then
  "$peers/git_peer.sh" "$out/events.jsonl" --count "$git_events" --runs "$runs" |
    tail -1 >"$out/git.json"
else
  echo '{"skipped": "tools/bench/peers/git_peer.sh is missing"}' >"$out/git.json"
fi
if [ -x "$peers/postgres_peer.sh" ]; then
  # The history query runs on a table as large as shiplog's history ledger.
  "$peers/postgres_peer.sh" "$out/events.jsonl" --count "$pg_events" --clients 1,64 --runs "$runs" \
    --query-events "$events" --shiplog "$bench" --shiplog-records "$appends" --shiplog-out "$out" |
    tail -1 >"$out/postgres.json"
else
  echo '{"skipped": "tools/bench/peers/postgres_peer.sh is missing"}' >"$out/postgres.json"
fi
if [ -x "$peers/cedar_peer/cedar_peer.sh" ]; then
  "$peers/cedar_peer/cedar_peer.sh" --runs "$runs" --decisions "$decisions" | tail -1 >"$out/cedar.json"
else
  echo '{"skipped": "tools/bench/peers/cedar_peer/cedar_peer.sh is missing"}' >"$out/cedar.json"
fi

step "the table (also in $out/table.md)"
python3 tools/bench/table.py "$out" --markdown >"$out/table.md"
python3 tools/bench/table.py "$out"

#!/usr/bin/env bash
# Peer benchmark: the event stream appended to a PostgreSQL table chained by SHA-256 in a trigger
# (postgres_ledger.sql), one transaction per event, every commit fsynced (fsync=on,
# synchronous_commit=on). Measures the append rate with 1 client and with each --clients count
# (pgbench, prepared statements), and the latency of one deployment's history query.
# Runs a private cluster in a temporary directory, on a Unix socket there only, and removes it at
# the end. Prints progress on stderr and, as its last line on stdout, one JSON object with the
# figures (medians over the runs), or {"skipped": "..."} when PostgreSQL cannot be had.
set -euo pipefail

usage() {
  echo "usage: $0 EVENTS_FILE [--count N] [--clients C[,C...]] [--runs R] [--queries Q]" \
    "[--query-events M]" >&2
  echo "  defaults: 10000 events, 8 clients (1 client is always measured too), 3 runs, 1000 queries" >&2
  echo "  --query-events M: query a ledger of the first M events, loaded in one transaction" \
    "(default: the ledger the last append run made)" >&2
  echo "  EVENTS_FILE: signed events, one JSON line each, as \`shiplog sign\` prints them" >&2
  echo "  --shiplog BENCH --shiplog-records N --shiplog-out DIR: also run BENCH's pipeline" \
    "workload (64 clients, N events) with its ledger in this same server, with one and with two" \
    "shiplog servers; writes DIR/pipeline-postgres-1.json and DIR/pipeline-postgres-2.json" >&2
}

events_file=""
count=10000
clients_list=8
runs=3
queries=1000
query_events=0
shiplog_bench="" shiplog_records=0 shiplog_out=""
while (($#)); do
  case "$1" in
    --count) count="${2:?--count needs a value}"; shift 2 ;;
    --clients) clients_list="${2:?--clients needs a value}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    --queries) queries="${2:?--queries needs a value}"; shift 2 ;;
    --query-events) query_events="${2:?--query-events needs a value}"; shift 2 ;;
    --shiplog) shiplog_bench="${2:?--shiplog needs a value}"; shift 2 ;;
    --shiplog-records) shiplog_records="${2:?--shiplog-records needs a value}"; shift 2 ;;
    --shiplog-out) shiplog_out="${2:?--shiplog-out needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage; exit 2 ;;
    *) events_file="$1"; shift ;;
  esac
done
[[ -n "$events_file" && -r "$events_file" ]] || { usage; exit 2; }
[[ "$clients_list" =~ ^[0-9]+(,[0-9]+)*$ ]] || { usage; exit 2; }
if [[ -n "$shiplog_bench" ]]; then
  [[ -x "$shiplog_bench" && "$shiplog_records" -gt 0 && -d "$shiplog_out" ]] || { usage; exit 2; }
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/bench/peers/common.sh
source "$here/common.sh"
peer_name=postgres

# The newest installed server with every program used here; Debian keeps them out of PATH.
find_bindir() {
  local dir
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/pgbench" && -x "$dir/psql" ]]; then
      echo "$dir"
      return
    fi
  done
}

bindir="$(find_bindir)"
if [[ -z "$bindir" ]]; then
  if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
    skip "PostgreSQL is not installed and cannot be installed here (apt-get install postgresql as root)"
  fi
  echo "installing PostgreSQL (apt-get install postgresql)" >&2
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } >&2 ||
    skip "apt-get install postgresql failed"
  bindir="$(find_bindir)"
  [[ -n "$bindir" ]] || skip "postgresql installed but initdb, pg_ctl, pgbench or psql is missing"
fi
command -v python3 >/dev/null || skip "python3 is needed to read the event stream"

# The server refuses to run as root: as root, run it as the postgres user the package made.
as_owner=()
if [[ $EUID -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || skip "running as root and there is no postgres user to run the server"
  as_owner=(runuser -u postgres --)
fi

work="$(mktemp -d)"
data="$work/data"
socket_dir="$work/socket"
port=5432 # names the socket file in socket_dir; there is no TCP listener
server_started=false
cleanup() {
  if $server_started; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$socket_dir"
if ((${#as_owner[@]})); then chown -R postgres: "$work"; fi

echo "starting a private PostgreSQL ($("$bindir/postgres" --version)) in $work" >&2
# initdb's own files need no fsync: only the appends are timed, and they are fsynced.
"${as_owner[@]}" "$bindir/initdb" -D "$data" -U bench -A trust --no-sync >"$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log" >&2; skip "initdb failed"; }
server_options="-c listen_addresses='' -c unix_socket_directories='$socket_dir' -p $port"
server_options+=" -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300"
server_started=true
"${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -o "$server_options" -w start >&2 ||
  { cat "$work/server.log" >&2; skip "the PostgreSQL server did not start"; }

psql_bench() {
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -p "$port" -U bench -d postgres "$@"
}
scalar() {
  psql_bench -At -c "$1"
}

# The stream staged in the database once, outside any timing, so a pgbench client appends event n
# by number and sends no data of its own.
python3 "$here/event_fields.py" "$events_file" --count "$((count > query_events ? count : query_events))" \
  --format csv --out "$work/events.csv"
psql_bench <<SQL
CREATE TABLE peer_input (n bigint PRIMARY KEY, deployment text, id text, kind text, actor text,
                         body jsonb);
\copy peer_input FROM '$work/events.csv' WITH (FORMAT csv)
CREATE SEQUENCE peer_feed;
SQL
staged=$(scalar "SELECT count(*) FROM peer_input")
((staged > 0)) || fail "no events in $events_file"
events=$((count < staged ? count : staged))
query_events=$((query_events < staged ? query_events : staged))
echo "staged $staged events" >&2

# The append-only rule holds: a row cannot be changed.
psql_bench -f "$here/postgres_ledger.sql"
psql_bench -c "INSERT INTO peer.ledger (id, deployment, kind, body)
               SELECT id, deployment, kind, body FROM peer_input WHERE n = 1"
if psql_bench -c "UPDATE peer.ledger SET kind = 'forged'" 2>/dev/null; then
  fail "an UPDATE of the ledger was allowed"
fi

# Appends the stream with CLIENTS pgbench clients; prints the events per second. Each client
# appends the same number, so the few events past CLIENTS * (events / CLIENTS) are left out.
append_rate() {
  local clients="$1" per_client appended tps
  per_client=$((events / clients))
  ((per_client > 0)) || fail "$events events are too few for $clients clients"
  psql_bench -f "$here/postgres_ledger.sql"
  psql_bench -c "ALTER SEQUENCE peer_feed RESTART; CHECKPOINT"
  "$bindir/pgbench" -n -M prepared -c "$clients" -j "$(min "$clients" "$(nproc)")" -t "$per_client" \
    -f "$here/postgres_append.pgbench" -h "$socket_dir" -p "$port" -U bench postgres \
    >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out" >&2; fail "pgbench append failed"; }
  appended=$((clients * per_client))
  check_chain "$appended"
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$work/pgbench.out")
  [[ -n "$tps" ]] || { cat "$work/pgbench.out" >&2; fail "no tps in pgbench's output"; }
  printf '%.1f\n' "$tps"
}

min() { if (($1 < $2)); then echo "$1"; else echo "$2"; fi; }

# Every event is there once, in one unbroken chain: the figure is for work actually done.
check_chain() {
  local rows broken
  rows=$(scalar "SELECT count(*) || ' ' || coalesce(max(seq), 0) FROM peer.ledger")
  [[ "$rows" == "$1 $1" ]] || fail "the ledger holds (rows, last seq) $rows, not $1 events"
  broken=$(scalar "SELECT count(*) FROM peer.ledger l LEFT JOIN peer.ledger p ON p.seq = l.seq - 1
                   WHERE l.hash <> sha256(l.prev_hash || convert_to(l.body::text, 'UTF8'))
                      OR (l.seq > 1 AND l.prev_hash IS DISTINCT FROM p.hash)")
  ((broken == 0)) || fail "$broken rows break the hash chain"
}

# Loads the first QUERY_EVENTS events (untimed), for the history query. The chain is computed in
# one pass with the head kept in a variable: through the trigger, one transaction updating the
# head row a million times walks ever longer chains of its dead versions (quadratic; it had not
# finished after five minutes). check_chain then checks every link as for the timed runs.
load_query_ledger() {
  echo "loading $query_events events for the history query" >&2
  psql_bench -f "$here/postgres_ledger.sql"
  psql_bench <<SQL
ALTER TABLE peer.ledger DISABLE TRIGGER ledger_chain;
DO \$\$
DECLARE
  s bigint;
  prev bytea;
  next bytea;
  r record;
BEGIN
  SELECT seq, hash INTO s, prev FROM peer.ledger_head;
  FOR r IN SELECT id, deployment, kind, body FROM peer_input WHERE n <= $query_events ORDER BY n LOOP
    s := s + 1;
    next := sha256(prev || convert_to(r.body::text, 'UTF8'));
    INSERT INTO peer.ledger (seq, id, deployment, kind, body, prev_hash, hash)
      VALUES (s, r.id, r.deployment, r.kind, r.body, prev, next);
    prev := next;
  END LOOP;
  UPDATE peer.ledger_head SET seq = s, hash = prev;
END \$\$;
ALTER TABLE peer.ledger ENABLE TRIGGER ledger_chain;
SQL
  check_chain "$query_events"
}

# One deployment's history, QUERIES times from one client, a deployment of the ledger drawn at
# random each time; prints "p50_ms p99_ms" from pgbench's per-transaction log, whose third field
# is the transaction's latency in microseconds. The table is analyzed first, as autovacuum would.
history_latency() {
  local deployments
  psql_bench <<SQL
SET client_min_messages = warning;
ANALYZE peer.ledger;
DROP TABLE IF EXISTS peer_deployments;
CREATE TABLE peer_deployments AS
  SELECT row_number() OVER (ORDER BY deployment) AS n, deployment
  FROM (SELECT DISTINCT deployment FROM peer.ledger) AS d;
ALTER TABLE peer_deployments ADD PRIMARY KEY (n);
SQL
  deployments=$(scalar "SELECT count(*) FROM peer_deployments")
  rm -f "$work"/history_log*
  "$bindir/pgbench" -n -M prepared -c 1 -t "$queries" -D deployments="$deployments" -l \
    --log-prefix="$work/history_log" -f "$here/postgres_history.pgbench" \
    -h "$socket_dir" -p "$port" -U bench postgres >"$work/pgbench.out" 2>&1 ||
    { cat "$work/pgbench.out" >&2; fail "pgbench history query failed"; }
  awk '{ print $3 }' "$work"/history_log* | sort -n |
    awk '{ v[NR] = $1 } END {
      if (NR == 0) exit 1
      p50 = v[int(0.50 * (NR - 1)) + 1]; p99 = v[int(0.99 * (NR - 1)) + 1]
      printf "%.3f %.3f\n", p50 / 1000, p99 / 1000 }'
}

IFS=, read -r -a client_counts <<<"1,$clients_list"
declare -A rates
p50s=() p99s=()
for ((run = 1; run <= runs; run++)); do
  for clients in "${client_counts[@]}"; do
    rate_now=$(append_rate "$clients")
    rates[$clients]="${rates[$clients]:-} $rate_now"
    echo "postgres run $run/$runs: clients=$clients appended at $rate_now events/s" >&2
  done
  if ((query_events == 0)); then
    latency=$(history_latency) && read -r p50 p99 <<<"$latency"
    p50s+=("$p50") p99s+=("$p99")
    echo "postgres run $run/$runs: history query p50 $p50 ms, p99 $p99 ms" >&2
  fi
done
query_ledger=$((events / client_counts[-1] * client_counts[-1]))
if ((query_events > 0)); then
  load_query_ledger
  query_ledger=$query_events
  for ((run = 1; run <= runs; run++)); do
    latency=$(history_latency) && read -r p50 p99 <<<"$latency"
    p50s+=("$p50") p99s+=("$p99")
    echo "postgres query run $run/$runs: history p50 $p50 ms, p99 $p99 ms on $query_ledger events" >&2
  done
fi

# shiplog's own ledger in this server, under the same durability settings as the peer's table:
# each run of the workload makes a database here and drops it after.
if [[ -n "$shiplog_bench" ]]; then
  url="postgresql://bench@/postgres?host=$socket_dir&port=$port"
  for servers in 1 2; do
    echo "shiplog on this PostgreSQL, $servers server(s), 64 clients, $shiplog_records events" >&2
    "$shiplog_bench" pipeline --clients 64 --records "$shiplog_records" --runs "$runs" \
      --postgres "$url" --servers "$servers" >"$shiplog_out/pipeline-postgres-$servers.json" ||
      fail "shiplog's pipeline workload on PostgreSQL with $servers server(s) failed"
  done
fi

by_clients=""
for clients in "${client_counts[@]}"; do
  [[ "$by_clients" == *"\"$clients\":"* ]] && continue
  # shellcheck disable=SC2086 # the rates are a space-separated list of numbers
  by_clients+="${by_clients:+,}\"$clients\":$(median ${rates[$clients]})"
done

printf '{"peer":"postgres","version":"%s","events":%d,"runs":%d,"query_ledger_events":%d,' \
  "$("$bindir/postgres" --version | awk '{print $3}')" "$events" "$runs" "$query_ledger"
printf '"append_per_s_by_clients":{%s},"queries":%d,"history_p50_ms":%s,"history_p99_ms":%s,' \
  "$by_clients" "$queries" "$(median "${p50s[@]}")" "$(median "${p99s[@]}")"
printf '"durability":"fsync=on synchronous_commit=on","driver":"pgbench -M prepared"}\n'

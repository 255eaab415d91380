#!/usr/bin/env bash
# The main job: install what is missing, build, and serve a ledger under ./shiplog-data with the
# default policy (created on the first run) on http://127.0.0.1:7478 until Ctrl-C or SIGTERM.
# Plain HTTP, on loopback only: nothing off this machine can reach it, and the README's walk
# talks to it with curl and `shiplog submit` as they are. To serve on a network, use --listen
# with --tls-cert/--tls-key (README, "TLS: serving on the network").
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh -DSHIPLOG_TESTS=OFF
data=./shiplog-data
if [ ! -d "$data/db" ]; then
  build/bin/shiplog init --data "$data"
fi
cat <<MSG >&2

shiplog serves the ledger in $data (default policy) on http://127.0.0.1:7478; it takes events once
every record has verified (GET /readyz). Plain HTTP on loopback only; README "TLS: serving on the
network" says how to serve it to other machines. The admin key is $data/admin.key: keep it somewhere safe.

The reviewers' console: http://127.0.0.1:7478/ui/
  pin the ledger key $(cat "$data/ledger.key.pub" 2>/dev/null || echo "($data/ledger.key.pub)")
  and sign in with a reader's key file (an auditor's, or $data/admin.key); README "The console".
The README walks a deployment through it from a second terminal; endpoints: adapters/openapi.yaml.
Ctrl-C or SIGTERM stops it after answering what is in flight.

MSG
exec build/bin/shiplog serve --data "$data" --insecure-listen 127.0.0.1:7478

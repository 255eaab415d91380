#!/usr/bin/env bash
# The main job: install what is missing, build, and bring up a ledger under ./shiplog-data.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh -DSHIPLOG_TESTS=OFF
data=./shiplog-data
if [ ! -d "$data/db" ]; then
  build/bin/shiplog init --data "$data"
fi
build/bin/shiplog verify --data "$data"
cat <<MSG

shiplog's ledger is ready in $data (verified above), under the default policy. Next:
  build/bin/shiplog keygen --out leon.key
  build/bin/shiplog enroll --data $data --admin-key $data/admin.key --name leon \\
      --roles coordinator --public-key leon.key.pub
  build/bin/shiplog policy show                  # the rules every intent is judged by
  build/bin/shiplog query --data $data           # the log, as JSON lines
The README walks through a deployment. Every command has --help.
The admin key is $data/admin.key: keep it somewhere safe.
MSG

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

shiplog's ledger is ready in $data (verified above). Next:
  build/bin/shiplog keygen --out rutger.key
  build/bin/shiplog enroll --data $data --admin-key $data/admin.key --name rutger \\
      --roles production --public-key rutger.key.pub
  echo '{"kind":"step.started","deployment":"checkout-1","step":"production"}' \\
      | build/bin/shiplog append --data $data --key rutger.key -
  build/bin/shiplog query --data $data --deployment checkout-1
Every command has --help. The admin key is $data/admin.key: keep it somewhere safe.
MSG

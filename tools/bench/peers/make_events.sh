#!/usr/bin/env bash
# Makes a small stream of signed events for running a peer benchmark on its own, without
# shiplog-bench: one deploy.requested then step.reported events per deployment, each signed with
# `shiplog sign` (one process per event, so keep COUNT in the thousands). The real run uses
# `shiplog-bench events`.
set -euo pipefail

usage() {
  echo "usage: $0 SHIPLOG_BINARY OUT_FILE COUNT [EVENTS_PER_DEPLOYMENT]   (default 20 per deployment)" >&2
}

if (($# < 3)); then usage; exit 2; fi
shiplog="$1"
out="$2"
count="$3"
per_deployment="${4:-20}"
[[ -x "$shiplog" ]] || { echo "not an executable: $shiplog" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$shiplog" keygen --out "$work/agent.key" >/dev/null

steps=(build test migrate infra image staging production)
image="registry.example/checkout@sha256:$(printf '%064d' 7)"
: >"$out"
for ((n = 0; n < count; n++)); do
  deployment="checkout-$((n / per_deployment))"
  if ((n % per_deployment == 0)); then
    event='{"kind":"deploy.requested","deployment":"'"$deployment"'","actor":"leon","app":"checkout",'
    event+='"environment":"production","version":"1.'"$n"'","image":"'"$image"'",'
    event+='"strategy":"canary","risk":"high","planned_steps":["build","test","staging","production"]}'
  else
    step="${steps[$((n % ${#steps[@]}))]}"
    event='{"kind":"step.reported","deployment":"'"$deployment"'","actor":"rutger","step":"'"$step"'",'
    event+='"status":"READY","details":"event '"$n"' of the bench stream"}'
  fi
  "$shiplog" sign --key "$work/agent.key" - <<<"$event" >>"$out"
  if (((n + 1) % 1000 == 0)); then echo "signed $((n + 1))/$count" >&2; fi
done
echo "wrote $count signed events to $out" >&2

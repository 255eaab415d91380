#!/usr/bin/env bash
# Peer benchmark: the event stream kept as a git repository of SSH-signed commits, one commit per
# event, each made durable before it counts (core.fsync=all). Measures the append rate (commits per
# second) and the rate of verifying every commit's signature.
# Prints progress on stderr and, as its last line on stdout, one JSON object with the figures
# (medians over the runs), or {"skipped": "..."} when git or ssh-keygen cannot be had.
set -euo pipefail

usage() {
  echo "usage: $0 EVENTS_FILE [--count N] [--runs R]   (defaults: 300 events, 3 runs)" >&2
  echo "  EVENTS_FILE: signed events, one JSON line each, as \`shiplog sign\` prints them" >&2
}

events_file=""
count=300
runs=3
while (($#)); do
  case "$1" in
    --count) count="${2:?--count needs a value}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage; exit 2 ;;
    *) events_file="$1"; shift ;;
  esac
done
[[ -n "$events_file" && -r "$events_file" ]] || { usage; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/bench/peers/common.sh
source "$here/common.sh"
peer_name=git

require_command git "git is not installed (apt-get install git)"
require_command ssh-keygen "ssh-keygen is not installed (apt-get install openssh-client)"
git_version="$(git --version | awk '{print $3}')"
# core.fsync, without which an acknowledged commit need not be on disk, came in git 2.36.
if ! printf '2.36\n%s\n' "$git_version" | sort -C -V; then
  skip "git $git_version has no core.fsync (2.36+), so its commits would not be as durable"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

ssh-keygen -q -t ed25519 -N '' -C shiplog-bench -f "$work/signing_key"
signer="bench@shiplog.invalid"
printf '%s namespaces="git" %s\n' "$signer" "$(cat "$work/signing_key.pub")" >"$work/allowed_signers"

python3 "$here/event_fields.py" "$events_file" --count "$count" --format tsv --out "$work/events.tsv"
events=$(wc -l <"$work/events.tsv")
((events > 0)) || { echo "no events in $events_file" >&2; exit 2; }

new_repo() {
  local repo="$1"
  git init -q "$repo"
  git -C "$repo" config user.name "shiplog bench"
  git -C "$repo" config user.email "$signer"
  git -C "$repo" config gpg.format ssh
  git -C "$repo" config user.signingkey "$work/signing_key"
  git -C "$repo" config commit.gpgsign true
  git -C "$repo" config gpg.ssh.allowedSignersFile "$work/allowed_signers"
  # Equal durability: objects, index and refs fsynced before the commit returns.
  git -C "$repo" config core.fsync all
  git -C "$repo" config core.fsyncMethod fsync
}

# One commit per event: the event's line as events/<deployment>/<id>.json, added and committed
# with an SSH signature, as a team keeping its audit trail in git would.
append_all() {
  local repo="$1" deployment id kind actor line dir
  while IFS=$'\t' read -r deployment id kind actor line; do
    dir="events/${deployment//[^A-Za-z0-9._-]/_}"
    mkdir -p "$repo/$dir"
    printf '%s\n' "$line" >"$repo/$dir/${id//[^A-Za-z0-9._-]/_}.json"
    git -C "$repo" add -- "$dir"
    git -C "$repo" commit -q -S -m "$kind $deployment $id by $actor"
  done <"$work/events.tsv"
}

# Both check every commit's signature with ssh-keygen; %G? is G only for a good signature by a
# key in the allowed signers file.
verify_with_log() {
  local good
  good=$(git -C "$1" log --format=%G? | grep -c '^G$' || true)
  ((good == events)) || fail "git log: $good of $events commits have a good signature"
}
verify_with_verify_commit() {
  git -C "$1" rev-list HEAD | xargs git -C "$1" verify-commit 2>/dev/null ||
    fail "git verify-commit found a commit without a good signature"
}

append_rates=() log_rates=() verify_commit_rates=()
for ((run = 1; run <= runs; run++)); do
  repo="$work/repo-$run"
  new_repo "$repo"
  seconds=$(time_seconds append_all "$repo")
  append_rates+=("$(rate "$events" "$seconds")")
  commits=$(git -C "$repo" rev-list --count HEAD)
  ((commits == events)) || fail "the repository has $commits commits, not $events"
  log_rates+=("$(rate "$events" "$(time_seconds verify_with_log "$repo")")")
  verify_commit_rates+=("$(rate "$events" "$(time_seconds verify_with_verify_commit "$repo")")")
  echo "git run $run/$runs: $events commits at ${append_rates[-1]}/s; verified at" \
    "${log_rates[-1]}/s (git log %G?), ${verify_commit_rates[-1]}/s (git verify-commit)" >&2
  rm -rf "$repo"
done

log_rate=$(median "${log_rates[@]}")
verify_commit_rate=$(median "${verify_commit_rates[@]}")
if awk -v a="$log_rate" -v b="$verify_commit_rate" 'BEGIN { exit !(a >= b) }'; then
  verify_rate=$log_rate verify_method="git log --format=%G?"
else
  verify_rate=$verify_commit_rate verify_method="git verify-commit"
fi

printf '{"peer":"git","git_version":"%s","events":%d,"runs":%d,"append_per_s":%s,' \
  "$git_version" "$events" "$runs" "$(median "${append_rates[@]}")"
printf '"verify_per_s":%s,"verify_method":"%s","verify_log_per_s":%s,"verify_commit_per_s":%s,' \
  "$verify_rate" "$verify_method" "$log_rate" "$verify_commit_rate"
printf '"durability":"core.fsync=all core.fsyncMethod=fsync","signing":"ssh ed25519"}\n'

#!/usr/bin/env bash
# Installs what shiplog needs to build and test, from Debian's packages, and only what is missing.
# Runs apt-get non-interactively, through sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git python3
  python3-nacl  # independent Ed25519/DSSE checks in the tests (tests/*/*.py)
  librocksdb-dev capnproto libcapnp-dev libsodium-dev libssl-dev
  libboost-dev libspdlog-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  clang libclang-rt-dev  # the fuzz targets (tools/fuzz.sh): clang and libFuzzer
  openssl  # tests/server/tls_test.cc makes its CA and certificates with the openssl command
  libpq-dev  # the PostgreSQL store (ledger/pg_store.cc)
  libhowardhinnant-date-dev tzdata  # policy calendars: time zones from the tz database
  postgresql  # the tests' own PostgreSQL servers (tests/postgres/postgres_server.h), and failover
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

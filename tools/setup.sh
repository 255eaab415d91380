#!/usr/bin/env bash
# Installs what shiplog needs to build and test, from Debian's packages, and only what is missing.
# Runs apt-get non-interactively, through sudo when not root.
#   tools/setup.sh          what building and serving need (tools/start.sh)
#   tools/setup.sh --tests  and what the tests need beyond that: Debian's chromium, Node.js and the
#                           console's browser test's npm packages (tools/test.sh)
set -euo pipefail
tests=false
if [[ "${1:-}" == --tests ]]; then tests=true; fi

packages=(
  build-essential cmake pkg-config git python3
  python3-nacl  # independent Ed25519/DSSE checks in the tests (tests/*/*.py)
  librocksdb-dev capnproto libcapnp-dev libsodium-dev libssl-dev
  libjemalloc-dev  # the programs' malloc (SHIPLOG_JEMALLOC)
  libboost-dev libspdlog-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  clang libclang-rt-dev  # the fuzz targets (tools/fuzz.sh): clang and libFuzzer
  openssl  # tests/server/tls_test.cc makes its CA and certificates with the openssl command
  libpq-dev  # the PostgreSQL store (ledger/pg_store.cc)
  libhowardhinnant-date-dev tzdata  # policy calendars: time zones from the tz database
  postgresql  # the tests' own PostgreSQL servers (tests/postgres/postgres_server.h), and failover
)
if $tests; then
  packages+=(chromium)  # the console's browser test (tests/console/): Debian's, driven headless
  # The browser test runs under Node with puppeteer-core (tests/console/package.json). A node and
  # npm already on the machine (Debian's or another build) will do.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# puppeteer-core at the version package-lock.json pins, for tests/console/browser_test.mjs. It
# never downloads a browser (the test drives Debian's chromium); reinstalled when the lock changes.
console_tests="$(dirname "$0")/../tests/console"
if $tests && { [ ! -d "$console_tests/node_modules" ] ||
               [ "$console_tests/package-lock.json" -nt "$console_tests/node_modules" ]; }; then
  echo "setup: npm ci in tests/console" >&2
  if ! npm ci --prefix "$console_tests" --no-audit --no-fund >&2; then
    rm -rf "$console_tests/node_modules"  # never half-installed
    echo "setup: npm ci failed in tests/console (the npm registry is needed once)" >&2
    exit 1
  fi
  touch "$console_tests/node_modules"
fi

#!/usr/bin/env bash
# Install what is missing, build everything with the tests, and run them all with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh -DSHIPLOG_TESTS=ON -DSHIPLOG_WERROR=ON
cd build
ctest --output-on-failure -j "$(nproc)"

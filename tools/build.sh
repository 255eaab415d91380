#!/usr/bin/env bash
# Configures and builds shiplog into build/ (the binary is build/bin/shiplog).
# Extra arguments go to CMake's configure step, e.g. -DSHIPLOG_TESTS=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j "$(nproc)"

#!/usr/bin/env bash
# Runs the whole test suite (unit, service and end-to-end tests) after
# scripts/setup.sh. Ends with ctest's summary; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure

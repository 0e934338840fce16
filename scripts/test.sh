#!/usr/bin/env bash
# Runs the whole test suite after scripts/setup.sh: the sanitizer builds
# (AddressSanitizer+UndefinedBehaviorSanitizer over the unit and service
# tests, ThreadSanitizer over the concurrency tests), a short libFuzzer run of
# every fuzz target, then every ctest test (unit, service, hardening and
# end-to-end) on the Release build. Ends with ctest's summary; exits non-zero
# on any failure. On 2 cores a first run takes about 28 minutes, most of it
# the sanitizer and fuzzer builds (README.md); later runs rebuild only what
# changed.
#
#   --quick   skip the sanitizer and fuzzer parts (for a development loop)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ "${1:-}" == --quick ]] && quick=1

if [[ $quick -eq 0 ]]; then
  start=$SECONDS
  bash scripts/sanitize.sh all
  echo "== sanitizers: $((SECONDS - start)) s"
  start=$SECONDS
  bash scripts/fuzz.sh 20
  echo "== fuzzers: $((SECONDS - start)) s"
fi
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure

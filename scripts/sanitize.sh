#!/usr/bin/env bash
# Builds the tree with sanitizers, each in a build directory of its own, and
# runs the tests there:
#   asan  build-asan: AddressSanitizer + UndefinedBehaviorSanitizer
#         (RelWithDebInfo, any UB is fatal): core_tests, server_tests and
#         trained_model_tests (the last needs models/default, see setup.sh).
#   tsan  build-tsan: ThreadSanitizer: core_tests' concurrency suites
#         (engine, model pool, model batcher, result cache) and concurrent
#         SentencePiece encodes. tests/testing/tsan_absl_annotations.cc
#         makes Debian's (uninstrumented) absl::Mutex visible to TSan.
# Usage: scripts/sanitize.sh [asan|tsan|all]   (default: all)
# Environment: JOBS (parallel jobs, default 2), NICE (niceness, default 10).
#
# Exits non-zero when a build or a test fails or a sanitizer reports
# anything. Reports go to build-*/sanitizer-reports/ and are printed at the
# end; they hold stack traces and addresses, never message text.
# On 2 cores a fresh asan build takes about 15 min, tsan about 8 min; see
# docs/development.md.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
jobs="${JOBS:-2}"
niceness="${NICE:-10}"
failed=0

case "$what" in
  asan | tsan | all) ;;
  *) echo "usage: $0 [asan|tsan|all]" >&2; exit 2 ;;
esac

# configure_and_build <dir> <sanitizers> <targets...>
configure_and_build() {
  local dir="$1" sanitizers="$2"
  shift 2
  local start=$SECONDS
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLANTERN_SANITIZE="$sanitizers" >/dev/null
  nice -n "$niceness" cmake --build "$dir" -j"$jobs" --target "$@"
  echo "== $dir: built in $((SECONDS - start)) s"
}

# run_test <command...>: runs a test binary; a non-zero exit fails the run.
run_test() {
  local start=$SECONDS status=0
  "$@" || status=$?
  echo "== $(basename "$1"): exit $status after $((SECONDS - start)) s"
  if [[ $status -ne 0 ]]; then failed=1; fi
}

# check_reports <report dir>: prints and counts what the sanitizers wrote.
check_reports() {
  local reports="$1" files
  files=$(find "$reports" -type f 2>/dev/null | sort)
  if [[ -n "$files" ]]; then
    echo "== sanitizer reports in $reports:" >&2
    for f in $files; do cat "$f" >&2; done
    failed=1
  else
    echo "== no sanitizer reports in $reports"
  fi
}

if [[ "$what" == asan || "$what" == all ]]; then
  configure_and_build build-asan address,undefined core_tests server_tests trained_model_tests
  reports="$PWD/build-asan/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  common="log_path=$reports/report:print_stacktrace=1"
  export ASAN_OPTIONS="$common:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
  export UBSAN_OPTIONS="$common:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp"
  run_test build-asan/tests/core_tests
  run_test build-asan/tests/server_tests
  run_test build-asan/tests/trained_model_tests
  check_reports "$reports"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

if [[ "$what" == tsan || "$what" == all ]]; then
  configure_and_build build-tsan thread core_tests
  reports="$PWD/build-tsan/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export TSAN_OPTIONS="log_path=$reports/report:halt_on_error=0:second_deadlock_stack=1"
  run_test build-tsan/tests/core_tests \
    --gtest_filter='*EngineTest*:*ModelPool*:*ModelBatcher*:*ResultCache*:TokenizerTest.SentencePieceEncodesConcurrently'
  check_reports "$reports"
  unset TSAN_OPTIONS
fi

if [[ $failed -ne 0 ]]; then
  echo "== sanitize.sh: FAILED" >&2
  exit 1
fi
echo "== sanitize.sh: all clean"

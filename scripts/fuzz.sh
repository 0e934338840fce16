#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang in build-fuzz
# (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS seconds,
# starting from its seed corpus tests/fuzz/corpus/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  per target; default 30 (a quick check). A real search: 600.
#   TARGET   e.g. message_fuzzer; default all seven (see tests/fuzz/).
# Environment: JOBS (parallel build jobs, default 2), NICE (default 10).
#
# Inputs a run discovers are kept in build-fuzz/corpus/<target>/, so the next
# run starts where this one stopped. A crash, sanitizer report, timeout or
# out-of-memory stops that target and saves the input as
# build-fuzz/artifacts/<target>/crash-* (or leak-, timeout-, oom-); rerun it
# with `build-fuzz/tests/fuzz/<target> <file>`. Exits non-zero if any target
# found something.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(message_fuzzer stream_request_fuzzer sentencepiece_fuzzer wordpiece_fuzzer
           use_tokenizer_fuzzer model_spec_fuzzer ensemble_fuzzer)
fi

if ! command -v clang++ >/dev/null || [[ -z "$(find /usr/lib/llvm-14 -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null)" ]]; then
  echo "fuzz.sh needs clang and libFuzzer: sudo apt-get install clang libfuzzer-14-dev" >&2
  exit 2
fi

start=$SECONDS
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DLANTERN_SANITIZE=address,undefined \
  -DLANTERN_FUZZ=ON -DLANTERN_BUILD_TESTS=OFF >/dev/null
nice -n "${NICE:-10}" cmake --build build-fuzz -j"${JOBS:-2}" --target "${targets[@]}"
echo "== built in $((SECONDS - start)) s"

# The targets' scratch files (model.json, vocabularies) stay in build-fuzz.
export TMPDIR="$PWD/build-fuzz/tmp"
mkdir -p "$TMPDIR"
export ASAN_OPTIONS="detect_stack_use_after_return=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

failed=()
for target in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$target"
  artifacts="build-fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  args=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  case "$target" in
    model_spec_fuzzer | ensemble_fuzzer) args+=(-dict=tests/fuzz/json.dict) ;;
  esac
  echo "== $target: ${seconds} s"
  # New inputs go to the first corpus folder; the seeds are only read.
  if ! build-fuzz/tests/fuzz/"$target" "${args[@]}" "$corpus" "tests/fuzz/corpus/$target" \
      2> "build-fuzz/$target.log"; then
    failed+=("$target")
    echo "== $target FOUND SOMETHING: see build-fuzz/$target.log and $artifacts/" >&2
    grep -E "ERROR|runtime error|invariant failed|SUMMARY" "build-fuzz/$target.log" | head -5 >&2 || true
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/$target.log" | tr '\n' ' '
  echo
done

echo "== total $((SECONDS - start)) s"
if [[ ${#failed[@]} -ne 0 ]]; then
  echo "== fuzz.sh: findings in ${failed[*]}" >&2
  exit 1
fi
echo "== fuzz.sh: nothing found"

#!/usr/bin/env bash
# Runs Lantern's benchmarks (issues 4 and 9) and writes docs/benchmarks.md.
#
#   bash scripts/bench.sh [--build-dir DIR] [--runs N] [--duration S]
#                         [--warmup S] [--out FILE] [--no-build] [--no-bert]
#                         [--quiet-wait S] [--retries N] [--commit TEXT]
#                         [--keep] [--report-only KEPT_DIR]
#
# What it runs, each configuration --runs times (default 5), reporting
# medians:
#   - micro-benchmarks (tests/bench/micro_bench, Google Benchmark);
#   - the raw baseline without RPC (tests/bench/raw_baseline): the models
#     called directly, and the engine in-process, at concurrency 1 and 32;
#   - the server with the default models on a free loopback port, launched
#     once per run: launch-to-SERVING time (health polled every 5 ms), the
#     first request's latency and requests after a pause, `lantern bench`
#     unary and Health/Check at concurrency 1 and 32, one StreamAnalyze
#     stream of 10,000 messages, and VmRSS/VmHWM;
#   - after each of those launches, one with --metrics-listen and /metrics
#     scraped every second, running unary at concurrency 32 again: the cost
#     of recording metrics (issue 12);
#   - a BERT-shaped model (scripts/make_bert_model.py --size small, random
#     weights) served alone, against its raw baseline (3 runs).
# Takes about 6 minutes on 2 cores after an incremental build. Benchmarks
# are only as quiet as the machine: the script waits (up to --quiet-wait,
# 60 s) for the CPUs to be idle before each section, every tool reports the
# CPU that other processes took during its measurement, and a result with
# more than 0.25 cores of such load is measured again once the machine is
# idle (at most 3 times per result, --retries 8 in all). The report uses
# clean results and says when it could not.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
RUNS=5
DURATION=3
WARMUP=1
OUT=$ROOT/docs/benchmarks.md
MODELS=$ROOT/models/default
DO_BUILD=1
DO_BERT=1
KEEP=0
QUIET_WAIT=60
COMMIT_LABEL=""
OTHER_LIMIT=0.25
RETRIES=8
REPORT_ONLY=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) BUILD=$(realpath "$2"); shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --no-bert) DO_BERT=0; shift ;;
    --keep) KEEP=1; shift ;;
    --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
    --commit) COMMIT_LABEL=$2; shift 2 ;;
    --retries) RETRIES=$2; shift 2 ;;
    --report-only) REPORT_ONLY=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
BERT_RUNS=$(( RUNS < 3 ? RUNS : 3 ))
BERT_DURATION=$(( DURATION < 4 ? 4 : DURATION ))

if [[ -n $REPORT_ONLY ]]; then
  WORK=$REPORT_ONLY
  KEEP=1
else
  WORK=$(mktemp -d /tmp/lantern-bench.XXXXXX)
fi
RESULTS=$WORK/results.jsonl
SERVER_PID=""
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill -9 "$SERVER_PID" 2>/dev/null || true; fi
  if [[ $KEEP == 1 ]]; then echo "bench.sh: raw results kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "bench.sh: $*" >&2; exit 1; }

# --- the report --------------------------------------------------------------
# Writes $OUT from the results in $WORK (scripts/bench_report.py says what
# they hold).
write_report() {
  /usr/bin/python3 "$ROOT/scripts/bench_report.py" "$WORK" "$OUT"
}

if [[ -n $REPORT_ONLY ]]; then
  write_report
  exit 0
fi

# --- build -------------------------------------------------------------------
if [[ $DO_BUILD == 1 ]]; then
  if [[ ! -f $BUILD/build.ninja && ! -f $BUILD/Makefile ]]; then
    log "configuring $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$WORK/configure.log" 2>&1 \
      || { tail -30 "$WORK/configure.log" >&2; die "cmake configure failed"; }
  fi
  log "building into $BUILD"
  cmake --build "$BUILD" -j2 --target lantern lantern-server micro_bench raw_baseline \
    > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
SERVER=$BUILD/server/lantern-server
CLI=$BUILD/client/lantern
MICRO=$BUILD/tests/bench/micro_bench
RAW=$BUILD/tests/bench/raw_baseline
for bin in "$SERVER" "$CLI" "$MICRO" "$RAW"; do [[ -x $bin ]] || die "missing $bin (build first)"; done
# The raw baseline batches as the server does by default.
MAX_BATCH=$("$SERVER" --help | sed -n 's/.*--max-batch arg (=\([0-9]*\)).*/\1/p')
BATCH_DELAY_US=$("$SERVER" --help | sed -n 's/.*--batch-delay-us arg (=\([0-9]*\)).*/\1/p')
BATCHING=()
[[ -n $MAX_BATCH ]] && BATCHING+=(--max-batch "$MAX_BATCH")
[[ -n $BATCH_DELAY_US ]] && BATCHING+=(--batch-delay-us "$BATCH_DELAY_US")

# --- machine state -----------------------------------------------------------
# Percentage of CPU time idle over one second, machine-wide.
cpu_idle_pct() {
  local a b
  read -r _ a1 a2 a3 a4 a5 a6 a7 a8 _ < /proc/stat
  sleep 1
  read -r _ b1 b2 b3 b4 b5 b6 b7 b8 _ < /proc/stat
  local total=$(( (b1+b2+b3+b4+b5+b6+b7+b8) - (a1+a2+a3+a4+a5+a6+a7+a8) ))
  local idle=$(( (b4+b5) - (a4+a5) ))
  echo $(( total > 0 ? 100 * idle / total : 0 ))
}
# Waits up to --quiet-wait seconds until the machine has been >= 90% idle
# for 3 seconds in a row; prints the last idle percentage.
await_idle() {
  local idle=0 quiet=0 waited=0
  while (( waited < QUIET_WAIT )); do
    idle=$(cpu_idle_pct)
    waited=$(( waited + 1 ))
    if (( idle >= 90 )); then
      quiet=$(( quiet + 1 ))
      (( quiet >= 3 )) && break
    else
      quiet=0
    fi
  done
  echo "$idle"
}
# await_idle before a section, recording how idle the machine was.
wait_quiet() {
  local section=$1 idle
  idle=$(await_idle)
  (( idle >= 90 )) || log "machine still busy before $section (${idle}% idle); measuring anyway"
  printf '{"config":"idle","section":"%s","idle_pct":%d,"loadavg":"%s"}\n' \
    "$section" "$idle" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS"
}

# Appends one JSON result line tagged with its configuration and run.
record() {  # config run json
  local line=$3
  [[ $line == \{* ]] || line='{"error":"no result"}'
  printf '{"config":"%s","run":%d,%s\n' "$1" "$2" "${line#\{}" >> "$RESULTS"
}

# --- server ------------------------------------------------------------------
# Launches the server on a free port with model dir $1 and the flags after
# it; sets SERVER_PID, PORT,
# LAUNCH_TO_SERVING_MS (launch to health SERVING, polled every 5 ms) and
# SERVER_LOG_MS (the server's own count from its creation).
SERVER_LOG=""
start_server() {
  SERVER_LOG=$WORK/server.$RANDOM.log
  : > "$SERVER_LOG"
  local t0 t1
  t0=$(date +%s%N)
  "$SERVER" --listen 127.0.0.1:0 --model-dir "$1" "${@:2}" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  PORT=""
  local deadline=$(( $(date +%s) + 60 ))
  while [[ -z $PORT ]]; do
    PORT=$(sed -n 's/.*listening on .*(port \([0-9]*\)[,)].*/\1/p' "$SERVER_LOG" || true)
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; die "server exited at start-up"; }
    (( $(date +%s) < deadline )) || die "server did not listen within 60 s"
    sleep 0.005
  done
  until [[ $("$CLI" --target "127.0.0.1:$PORT" --timeout-ms 1000 health 2>/dev/null) == SERVING ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; die "server exited during warm-up"; }
    (( $(date +%s) < deadline )) || die "server not SERVING within 60 s"
    sleep 0.005
  done
  t1=$(date +%s%N)
  LAUNCH_TO_SERVING_MS=$(( (t1 - t0) / 1000000 ))
  SERVER_LOG_MS=$(sed -n 's/.*SERVING on port [0-9]*, \([0-9]*\) ms after start.*/\1/p' "$SERVER_LOG")
}
# With --metrics-listen: fetches /metrics every second, as a tight scrape
# interval would, until stop_server.
SCRAPER_PID=""
start_scraper() {
  local port
  port=$(sed -n 's/.*metrics on http:.*:\([0-9]*\)\/metrics.*/\1/p' "$SERVER_LOG" | head -1)
  [[ -n $port ]] || die "the server logged no metrics address"
  # bash's /dev/tcp, not curl, which a fresh machine may lack.
  while sleep 1; do
    (exec 3<>"/dev/tcp/127.0.0.1/$port" &&
      printf 'GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n' >&3 &&
      cat <&3 >/dev/null) 2>/dev/null || true
  done &
  SCRAPER_PID=$!
}
stop_server() {
  if [[ -n $SCRAPER_PID ]]; then
    kill "$SCRAPER_PID" 2>/dev/null || true
    wait "$SCRAPER_PID" 2>/dev/null || true
    SCRAPER_PID=""
  fi
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER_PID/status"; }
bench() { "$CLI" --target "127.0.0.1:$PORT" bench --json --server-pid "$SERVER_PID" "$@" || true; }
raw() { "$RAW" --json "${BATCHING[@]}" "$@" 2>/dev/null | tail -1 || true; }

# How long one `lantern health` call takes (the poll loop's resolution).
probe_health_ms() {
  local t0 t1
  t0=$(date +%s%N)
  for _ in 1 2 3 4 5; do "$CLI" --target "127.0.0.1:$PORT" health >/dev/null; done
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 5000000 ))
}

# The models are copied first, so that a retraining into models/default
# while the benchmark runs cannot mix two model sets in one report.
cp -r "$MODELS" "$WORK/models"
MODELS=$WORK/models

# --- machine and build description -------------------------------------------
GIT_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  GIT_COMMIT="$GIT_COMMIT + uncommitted changes"
fi
[[ -n $COMMIT_LABEL ]] && GIT_COMMIT=$COMMIT_LABEL
cat > "$WORK/machine.json" <<EOF
{"nproc": $(nproc), "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')",
 "mem_kb": $(awk '/MemTotal/ {print $2}' /proc/meminfo),
 "kernel": "$(uname -r)", "date": "$(date -u +%Y-%m-%dT%H:%MZ)", "commit": "$GIT_COMMIT",
 "runs": $RUNS, "bert_runs": $BERT_RUNS, "duration": $DURATION, "bert_duration": $BERT_DURATION,
 "warmup": $WARMUP, "other_limit": $OTHER_LIMIT, "max_batch": "${MAX_BATCH:-1}", "batch_delay_us": "${BATCH_DELAY_US:-0}"}
EOF
T_START=$(date +%s)

# --- micro-benchmarks --------------------------------------------------------
wait_quiet micro
log "micro-benchmarks"
"$MICRO" --model_dir="$MODELS" --benchmark_repetitions=3 --benchmark_min_time=0.1 \
  --benchmark_report_aggregates_only=true --benchmark_format=json \
  > "$WORK/micro.json" 2>/dev/null || die "micro_bench failed"

# A result is "clean" when the rest of the machine took at most
# $OTHER_LIMIT cores during its measurement window (reported by the tools as
# other_cores). An unclean result is measured again once the machine is idle
# (await_idle), at most 3 times per result and $RETRIES times in all; the
# report uses clean results and says so when it cannot.
clean() {  # json
  local other
  other=$(sed -n 's/.*"other_cores":\([0-9.]*\).*/\1/p' <<<"$1")
  [[ -n $other ]] && awk -v o="$other" -v l="$OTHER_LIMIT" 'BEGIN { exit !(o <= l) }'
}
may_retry() {  # what attempt
  (( RETRIES > 0 && $2 < 3 )) || return 1
  RETRIES=$(( RETRIES - 1 ))
  log "other load on the machine during $1; measuring again when it is idle ($RETRIES retries left)"
  await_idle > /dev/null
}
# Runs the raw baseline until clean (or out of retries) and records it.
raw_run() {  # config run args...
  local config=$1 run=$2 out attempt=0
  shift 2
  out=$(raw "$@")
  while ! clean "$out" && may_retry "$config run $run" "$attempt"; do
    attempt=$(( attempt + 1 ))
    out=$(raw "$@")
  done
  record "$config" "$run" "$out"
}

# --- raw baseline ------------------------------------------------------------
wait_quiet raw
for run in $(seq 1 "$RUNS"); do
  log "raw baseline, run $run/$RUNS"
  common=(--model-dir "$MODELS" --duration "$DURATION" --warmup "$WARMUP" --seed "$run")
  raw_run raw_direct_c1 "$run" --driver direct --concurrency 1 "${common[@]}"
  raw_run raw_engine_c1 "$run" --driver engine --concurrency 1 "${common[@]}"
  raw_run raw_direct_c32 "$run" --driver direct --concurrency 32 "${common[@]}"
  raw_run raw_engine_c32 "$run" --driver engine --concurrency 32 "${common[@]}"
done

# --- the server --------------------------------------------------------------
# One launch: start-up, then each "config:args" in order against the same
# server, then its memory and status. The first request of the first config
# is the server's first Analyze. Retried as a whole when a result is unclean.
# SERVER_FLAGS are added to the server's command line; with --metrics-listen
# among them /metrics is scraped while the configs run.
SERVER_FLAGS=()
server_run() {  # kind models_dir run config:args...
  local kind=$1 dir=$2 run=$3
  shift 3
  local -a configs=("$@") outs=()
  local attempt=0
  while true; do
    start_server "$dir" "${SERVER_FLAGS[@]}"
    [[ " ${SERVER_FLAGS[*]} " == *" --metrics-listen "* ]] && start_scraper
    local rss_idle all_clean=1 spec out
    rss_idle=$(status_kb VmRSS)
    outs=()
    for spec in "${configs[@]}"; do
      # shellcheck disable=SC2086  # the args are words on purpose
      out=$(bench ${spec#*:})
      clean "$out" || all_clean=0
      outs+=("$out")
      # Counters after each config; the report turns them into batch sizes.
      "$CLI" --target "127.0.0.1:$PORT" status \
        > "$WORK/status.$kind.$run.${spec%%:*}.json" 2>/dev/null || true
    done
    if (( all_clean == 0 )) && may_retry "$kind server run $run" "$attempt"; then
      attempt=$(( attempt + 1 ))
      stop_server
      continue
    fi
    break
  done
  local i
  for i in "${!configs[@]}"; do record "${configs[$i]%%:*}" "$run" "${outs[$i]}"; done
  local health_ms
  health_ms=$(probe_health_ms)
  "$CLI" --target "127.0.0.1:$PORT" status > "$WORK/status.$kind.$run.json" 2>/dev/null || true
  printf '{"config":"%s_server","run":%d,"launch_to_serving_ms":%d,"server_log_ms":%s,"health_call_ms":%d,"rss_idle_kb":%d,"rss_kb":%d,"hwm_kb":%d,"clean":%s}\n' \
    "$kind" "$run" "$LAUNCH_TO_SERVING_MS" "${SERVER_LOG_MS:-null}" "$health_ms" "$rss_idle" \
    "$(status_kb VmRSS)" "$(status_kb VmHWM)" "$( ((all_clean)) && echo true || echo false)" >> "$RESULTS"
  if [[ ! -s $WORK/blas.txt ]]; then
    sed -n 's/.*BLAS: \(.*\)/\1/p' "$SERVER_LOG" | head -1 > "$WORK/blas.txt"
  fi
  stop_server
}

wait_quiet rpc
for run in $(seq 1 "$RUNS"); do
  log "server run $run/$RUNS"
  w="--duration $DURATION --warmup $WARMUP --seed $run"
  server_run default "$MODELS" "$run" \
    "rpc_unary_c1:--concurrency 1 $w" \
    "rpc_health_c1:--mode health --concurrency 1 $w" \
    "rpc_unary_c32:--concurrency 32 $w" \
    "rpc_health_c32:--mode health --concurrency 32 $w" \
    "rpc_stream_10k:--mode stream --concurrency 1 --count 10000 --warmup $WARMUP --seed $run" \
    "rpc_stream_10k_people:--mode stream --concurrency 1 --count 10000 --people 200 --warmup $WARMUP --seed $run"
  # The same unary load right after, on a server recording metrics.
  SERVER_FLAGS=(--metrics-listen 127.0.0.1:0)
  server_run metrics "$MODELS" "$run" "rpc_unary_c32_metrics:--concurrency 32 $w"
  SERVER_FLAGS=()
done

# --- the BERT-shaped model ---------------------------------------------------
if [[ $DO_BERT == 1 && -f $ROOT/scripts/make_bert_model.py ]]; then
  log "making the BERT-shaped model"
  BERT_DIR=$WORK/bert_models
  if /usr/bin/python3 "$ROOT/scripts/make_bert_model.py" --size small --out "$BERT_DIR/bert" \
       > "$WORK/bert_make.log" 2>&1; then
    # The default thresholds; the random model's verdicts mean nothing.
    printf '{"version": "bert-bench", "models": ["bert"], "thresholds": {"low": 0.325, "medium": 0.475, "high": 0.6, "critical": 0.875}}\n' \
      > "$BERT_DIR/ensemble.json"
    wait_quiet bert
    for run in $(seq 1 "$BERT_RUNS"); do
      log "BERT run $run/$BERT_RUNS"
      common=(--model-dir "$BERT_DIR" --duration "$BERT_DURATION" --warmup "$WARMUP" --seed "$run")
      raw_run bert_raw_direct_c1 "$run" --driver direct --concurrency 1 "${common[@]}"
      raw_run bert_raw_direct_c32 "$run" --driver direct --concurrency 32 "${common[@]}"
      raw_run bert_raw_engine_c32 "$run" --driver engine --concurrency 32 "${common[@]}"
      w="--duration $BERT_DURATION --warmup $WARMUP --seed $run"
      server_run bert "$BERT_DIR" "$run" \
        "bert_rpc_unary_c1:--concurrency 1 $w" \
        "bert_rpc_unary_c32:--concurrency 32 $w"
    done
  else
    log "make_bert_model.py failed; BERT section skipped (see $WORK/bert_make.log)"
  fi
fi
T_END=$(date +%s)
echo "{\"config\":\"elapsed\",\"seconds\":$((T_END - T_START))}" >> "$RESULTS"

# --- the report --------------------------------------------------------------
log "writing $OUT"
write_report
log "done in $(( $(date +%s) - T_START )) s"

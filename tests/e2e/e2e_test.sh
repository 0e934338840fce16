#!/usr/bin/env bash
# End to end: the built lantern-server binary on a free port with the default
# models, driven by the built `lantern` CLI: health, analyze, a 100-message
# stream, bench, status, bad input, then SIGTERM with a stream open.
# Usage: e2e_test.sh SERVER_BIN CLI_BIN MODEL_DIR
set -uo pipefail
SERVER=$1 CLI=$2 MODELS=$3
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill -9 "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "E2E FAIL: $*" >&2; echo "--- server log ---" >&2; cat "$WORK/server.log" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A phrase that must never reach the logs.
SECRET="my private plan is the bridge at midnight zebra"

"$SERVER" --listen 127.0.0.1:0 --model-dir "$MODELS" --log-level debug \
  --drain-timeout-ms 3000 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

PORT=""
for _ in $(seq 1 600); do
  PORT=$(sed -n 's/.*SERVING on port \([0-9]*\),.*/\1/p' "$WORK/server.log")
  [[ -n $PORT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited during start-up"
  sleep 0.1
done
[[ -n $PORT ]] || fail "server did not reach SERVING within 60 s"
L=("$CLI" --target "127.0.0.1:$PORT")
pass "server SERVING on port $PORT"

[[ $("${L[@]}" health) == SERVING ]] || fail "health is not SERVING"
pass "lantern health"

OUT=$("${L[@]}" analyze --id e1 "I have the pills and I'm doing it tonight") || fail "analyze failed"
grep -Eq '"level":"CRISIS_LEVEL_(HIGH|CRITICAL)"' <<<"$OUT" || fail "crisis message not high/critical: $OUT"
grep -q '"message_id":"e1"' <<<"$OUT" || fail "message id not echoed: $OUT"
OUT=$("${L[@]}" analyze "what time is the raid tonight?") || fail "analyze failed"
grep -q '"level":"CRISIS_LEVEL_NONE"' <<<"$OUT" || fail "raid question not none: $OUT"
pass "lantern analyze"

"${L[@]}" analyze "   " >"$WORK/out" 2>"$WORK/err" && fail "blank text accepted"
grep -q "error: INVALID_ARGUMENT: message.text has no visible characters" "$WORK/err" \
  || fail "blank text error: $(cat "$WORK/err")"
pass "blank text gets INVALID_ARGUMENT"

for i in $(seq 1 100); do
  case $((i % 3)) in
    0) text="gg ez, that boss killed me like 50 times lol" ;;
    1) text="$SECRET" ;;
    2) text="nobody would even notice if I was gone" ;;
  esac
  printf '{"message":{"id":"s%d","channel_id":"ch%d","text":"%s"}}\n' "$i" $((i % 4)) "$text"
done >"$WORK/in.jsonl"
"${L[@]}" stream <"$WORK/in.jsonl" >"$WORK/stream.out" 2>"$WORK/stream.err" \
  || fail "stream failed: $(cat "$WORK/stream.err")"
[[ $(wc -l <"$WORK/stream.out") -eq 100 ]] || fail "expected 100 stream answers, got $(wc -l <"$WORK/stream.out")"
IDS=$(sed -n 's/.*"message_id":"\(s[0-9]*\)".*/\1/p' "$WORK/stream.out" | sort -u | wc -l)
[[ $IDS -eq 100 ]] || fail "expected 100 distinct answered ids, got $IDS"
[[ $(grep -c '"analysis"' "$WORK/stream.out") -eq 100 ]] || fail "not every stream answer is an analysis"
pass "lantern stream: 100 messages, 100 answers, ids match"

# The load generator: every measured call answered, none failed.
OUT=$("${L[@]}" bench --count 60 --concurrency 4 --warmup 0 --pause-probes 2 --pause-ms 5 --json) \
  || fail "bench failed"
grep -q '"sent":60,"ok":60,"errors":{},"unanswered":0' <<<"$OUT" || fail "bench unary: $OUT"
grep -q '"after_pause_us":[1-9][0-9]*,"pause_probes":2,"pause_ms":5,' <<<"$OUT" \
  || fail "bench unary pause probes: $OUT"
OUT=$("${L[@]}" bench --mode stream --count 60 --warmup 0 --pause-probes 0 --json) || fail "bench stream failed"
grep -q '"sent":60,"ok":60,"errors":{},"unanswered":0' <<<"$OUT" || fail "bench stream: $OUT"
OUT=$("${L[@]}" bench --mode health --count 60 --warmup 0 --pause-probes 0 --json) || fail "bench health failed"
grep -q '"label":"rpc unary Health/Check.*"sent":60,"ok":60,"errors":{}' <<<"$OUT" \
  || fail "bench health: $OUT"
pass "lantern bench: unary, stream and health, 60 calls each, all answered; 2 pause probes timed"

"${L[@]}" status >"$WORK/status.json" || fail "status failed"
grep -q '"ready": true' "$WORK/status.json" || fail "status not ready: $(cat "$WORK/status.json")"
pass "lantern status"

# SIGTERM with a stream open: the stream must end with UNAVAILABLE, the
# server must exit 0.
mkfifo "$WORK/fifo"
"${L[@]}" stream <"$WORK/fifo" >"$WORK/open.out" 2>"$WORK/open.err" &
STREAM_PID=$!
exec 3>"$WORK/fifo"
echo '{"id":"before-drain","text":"hello all"}' >&3
for _ in $(seq 1 100); do [[ -s $WORK/open.out ]] && break; sleep 0.1; done
grep -q '"message_id":"before-drain"' "$WORK/open.out" || fail "open stream got no answer"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
RC=$?
SERVER_PID=""
[[ $RC -eq 0 ]] || fail "server exited with $RC after SIGTERM"
wait "$STREAM_PID" && fail "open stream did not report the drain"
exec 3>&-
grep -q "UNAVAILABLE" "$WORK/open.err" || fail "open stream error: $(cat "$WORK/open.err")"
grep -q "SIGTERM received" "$WORK/server.log" || fail "no SIGTERM log line"
pass "SIGTERM: open stream ended UNAVAILABLE, server exited 0"

grep -q "zebra" "$WORK/server.log" && fail "message text found in the server log"
grep -q "pills" "$WORK/server.log" && fail "message text found in the server log"
pass "no message text in the debug-level log"
echo "e2e: all checks passed"

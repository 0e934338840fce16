#!/usr/bin/env bash
# End to end: the built lantern-server binary on a free port with the default
# models, driven by the built `lantern` CLI: health, analyze, a 100-message
# stream, bench, status, bad input, then SIGTERM with a stream open, and a
# stream that reconnects to a new server on the same port.
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

# SIGTERM with a stream open: without reconnects the stream must end with
# UNAVAILABLE, the server must exit 0.
mkfifo "$WORK/fifo"
"${L[@]}" stream --no-reconnect <"$WORK/fifo" >"$WORK/open.out" 2>"$WORK/open.err" &
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

# With reconnects (the default) a stream outlives its server: a message
# before the drain is answered by the old server, one after it by a new
# server on the same port, and the stream ends OK at EOF.
start_server() {
  "$SERVER" --listen "127.0.0.1:$PORT" --model-dir "$MODELS" --shutdown-grace-ms 0 \
    >>"$WORK/server.log" 2>&1 3>&- &  # Not holding the stream's input open.
  SERVER_PID=$!
  "$CLI" --target "127.0.0.1:$PORT" health --wait 60 >/dev/null || fail "server on port $PORT not SERVING"
}
start_server
mkfifo "$WORK/fifo2"
"${L[@]}" stream <"$WORK/fifo2" >"$WORK/re.out" 2>"$WORK/re.err" &
STREAM_PID=$!
exec 3>"$WORK/fifo2"
echo '{"id":"old-server","text":"hello all"}' >&3
for _ in $(seq 1 100); do [[ -s $WORK/re.out ]] && break; sleep 0.1; done
grep -q '"message_id":"old-server"' "$WORK/re.out" || fail "reconnecting stream got no answer"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exited with $? after SIGTERM"
start_server
echo '{"id":"new-server","text":"hello again"}' >&3
exec 3>&-
wait "$STREAM_PID" || fail "reconnecting stream failed: $(cat "$WORK/re.err")"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=""
[[ $(grep -c '"analysis"' "$WORK/re.out") -eq 2 ]] || fail "expected 2 analyses: $(cat "$WORK/re.out")"
grep -q "2 sent, 2 answered, 0 errors, 1 reconnects" "$WORK/re.err" || fail "summary: $(cat "$WORK/re.err")"
pass "SIGTERM and a new server on the same port: the stream reconnected, both messages answered"

grep -q "zebra" "$WORK/server.log" && fail "message text found in the server log"
grep -q "pills" "$WORK/server.log" && fail "message text found in the server log"
pass "no message text in the debug-level log"
echo "e2e: all checks passed"

#!/usr/bin/env bash
# A Pub/Sub outage: the consumer reaches the emulator through a
# relay (pubsub/tcp_proxy.py) that the test stops for OUTAGE_S seconds,
# cutting every connection and refusing new ones, then starts again on the
# same port. The consumer backs off, resumes on its own and loses nothing.
# The emulator itself is not restarted: it keeps nothing across a restart,
# not even its topics, so a restart would test the emulator, not us.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init

readonly HALF=1000 OUTAGE_S=6 WAIT_S=60
topic=$(unique_name topic)
sub=$(unique_name sub)
make_events $((2 * HALF)) "$topic" >"$IT_TMP/events.txt"
head -n "$HALF" "$IT_TMP/events.txt" >"$IT_TMP/first.txt"
tail -n "$HALF" "$IT_TMP/events.txt" >"$IT_TMP/second.txt"
port=$(free_port)

# wait_lines FILE N: until FILE has N lines, at most WAIT_S seconds.
wait_lines() {
  local deadline=$((SECONDS + WAIT_S))
  until (($(count_lines "$1") >= $2)); do
    ((SECONDS < deadline)) ||
      fail "${1##*/} has $(count_lines "$1") lines after ${WAIT_S}s, not $2"
    kill -0 "$consumer_pid" 2>/dev/null || fail "the consumer exited early"
    sleep 0.2
  done
}

publish_events "$topic" "$sub" 60 "$IT_TMP/first.txt" "$HALF"
start_relay "$port"
"$CONSUMER" --transport pubsub --emulator-host "127.0.0.1:$port" \
  --project "$PROJECT" --subscription "$sub" --request-timeout 5 \
  >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err" &
consumer_pid=$!
IT_PIDS+=("$consumer_pid")
# The outage starts once the first half is out and acknowledged, while the
# consumer only pulls: every pull in it then fails.
wait_lines "$IT_TMP/consumer.out" "$HALF"
sleep 1

log "outage: relay down for ${OUTAGE_S}s while $HALF more events are published"
kill -TERM "$relay"
wait "$relay" 2>/dev/null || true
publish_events "$topic" "$sub" 60 "$IT_TMP/second.txt" "$HALF"
sleep "$OUTAGE_S"
kill -0 "$consumer_pid" 2>/dev/null || fail "the consumer did not survive the outage"
start_relay "$port"

wait_lines "$IT_TMP/consumer.out" $((2 * HALF))
kill -TERM "$consumer_pid"
rc=0
wait "$consumer_pid" || rc=$?
expect_eq "consumer exit status after SIGTERM" "$rc" 0
grep -qE '^WARN: pubsub: .*retrying in' "$IT_TMP/consumer.err" ||
  fail "the consumer never reported the outage and its backoff on stderr"
check cover-some "$IT_TMP/events.txt" "$IT_TMP/consumer.out"
log "ok: the consumer rode out a ${OUTAGE_S}s outage and printed all" \
  "$((2 * HALF)) events"

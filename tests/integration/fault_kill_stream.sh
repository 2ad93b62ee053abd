#!/usr/bin/env bash
# A consumer SIGKILLed at KILLS points of a paced stream, restarted each
# time in the same group: together the runs print every event (nothing
# lost), and no more duplicates than the documented bound. A crash prints
# again what was flushed since the last commit: stored offsets are committed
# every second, so that is about one second of output plus the batch in
# hand (BATCH, the consumer's poll batch) per kill.
#
# The consumer restarts with the same --instance-id, as under an
# orchestrator: a dynamic member would wait out the dead one's session
# (45 s) at every restart.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

readonly PARTITIONS=4 EVENTS=20000 RATE=1000 KILLS=10 BATCH=512
# Each run lives at least this long after its first line, so that it gets
# at least one commit in (they are a second apart): the bound is per kill.
readonly MIN_LIFE_MS=1500
readonly STREAM_MS=$((EVENTS * 1000 / RATE))
readonly BOUND=$((KILLS * (RATE + BATCH)))
topic=$(unique_name topic)
group=$(unique_name group)
id=$(unique_name member)
create_topic "$topic" "$PARTITIONS"
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"

t0=$(now_ms)
spawn "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/events.txt" \
  --rate "$RATE" >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err"
producer=$!

runs=()
for k in $(seq "$KILLS"); do
  out=$IT_TMP/run$k.out
  spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --instance-id "$id" \
    --idle-exit 60 >"$out" 2>"$IT_TMP/run$k.err"
  pid=$!
  runs+=("$out")
  printing() { [[ -s $out ]]; }
  wait_until 20 printing || fail "run $k printed nothing in 20 s"
  first=$(now_ms)
  # Kill points spread evenly over the stream, each at least MIN_LIFE_MS
  # into the run.
  due=$((t0 + k * STREAM_MS / (KILLS + 1)))
  ((due >= first + MIN_LIFE_MS)) || due=$((first + MIN_LIFE_MS))
  while (($(now_ms) < due)); do
    sleep 0.05
  done
  kill -0 "$producer" 2>/dev/null ||
    fail "the stream ended before kill $k; the kills were not mid-stream"
  crash "$pid"
  drop_partial_line "$out"
done

rc=0
reap "$producer" || rc=$?
expect_eq "producer exit status" "$rc" 0
n=$(grep -c '^Published message ' "$IT_TMP/producer.out" || true)
expect_eq "events published" "$n" "$EVENTS"

# The last run reads what is left and exits once idle.
rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --instance-id "$id" \
  --idle-exit 5 >"$IT_TMP/last.out" 2>"$IT_TMP/last.err" || rc=$?
expect_eq "last run exit status" "$rc" 0
runs+=("$IT_TMP/last.out")
check cover-some "$IT_TMP/events.txt" "${runs[@]}"
total=$(cat "${runs[@]}" | wc -l)
dups=$((total - EVENTS))
((dups <= BOUND)) ||
  fail "$dups events printed twice after $KILLS kills, over the bound of" \
    "$BOUND ($KILLS x (1 s at $RATE/s + a batch of $BATCH))"
log "ok: $KILLS kills, nothing lost, $dups duplicates (bound $BOUND)"

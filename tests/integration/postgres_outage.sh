#!/usr/bin/env bash
# Issue 10, test 4: the database goes away under event-consumer --sink
# postgres, on a PostgreSQL server of the test's own (scripts/postgres.sh,
# its state under the test's temporary directory, a free port): the shared
# one at PG_DSN stays up for the other tests, and this test does not use it.
#
# A. While a producer publishes at a steady rate, the server is SIGKILLed
#    (postgres.sh kill: a crash, a batch's transaction perhaps in flight)
#    for OUTAGE_S seconds, then resumed on its data. Meanwhile the consumer
#    (--sink-timeout 120) retries, saying so in WARN lines ("sink postgres:
#    ...; retrying in X s, nothing acknowledged meanwhile ..."), and
#    acknowledges nothing: its messages_acknowledged_total (/metrics) and
#    the group's committed offsets (asked of the broker) stay put. Once the
#    server is back, everything lands: the table holds every event
#    published, the consumer exits 0 once idle having read each message
#    once, and the group has committed them all.
# B. The server is stopped (postgres.sh stop: a fast shutdown) for longer
#    than --sink-timeout 5 while a consumer has a batch in hand: it exits 69
#    within the timeout, an ERROR line saying the batch was not written
#    within --sink-timeout, having acknowledged nothing of it (summary
#    unacknowledged > 0, the committed offsets where the last good batch
#    left them, no new row). After a resume, a rerun in the same group
#    reads the rest and completes the table.
# event-verify (the third argument) must agree with the final tables too.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"
require_broker
command -v curl >/dev/null || fail "curl not found"

readonly PARTITIONS=2 EVENTS=6000 RATE=250 OUTAGE_S=10 SHORT_TIMEOUT=5
readonly FIRST=400 SECOND=600

# shellcheck disable=SC2317 # called by it_cleanup
it_on_exit() {
  own_postgres_stop
}
own_postgres "$IT_TMP/pg"
log "own PostgreSQL at $PG"

# N valid events, each with a unique event_id, one per line:
# events N TAG [INVALID_EVERY]
events() {
  python3 - "$@" <<'EOF'
import json, sys
n, tag = int(sys.argv[1]), sys.argv[2]
levels = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
for i in range(n):
    ev = {"event_id": "%s-%05d" % (tag, i),
          "timestamp": "2026-11-22T11:%02d:%02d.%03dZ" % (i // 60 % 60, i % 60, i % 1000),
          "service_name": "svc-%d" % (i % 7), "level": levels[i % 5],
          "message": "outage event %d \u00e9t\u00e9 \u2713" % i}
    if i % 9 == 4:
        ev["is_valid"] = False
    print(json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
EOF
}

# --- A: a crash of the database mid-stream, then it comes back ------------
topic=$(unique_name topic)
group=$(unique_name group)
table=$(pg_unique_table outage)
create_topic "$topic" "$PARTITIONS"
events "$EVENTS" a >"$IT_TMP/events.txt"

spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --sink postgres \
  --pg-dsn "$PG" --pg-table "$table" --sink-timeout 120 --idle-exit 5 \
  --metrics-addr 127.0.0.1:0 >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err"
consumer=$!
port=$(metrics_port "$IT_TMP/consumer.err")
assigned() { grep -q "^INFO: kafka: assigned $PARTITIONS partition" "$IT_TMP/consumer.err"; }
wait_until 20 assigned || fail "the consumer was not assigned the partitions in 20 s"

spawn "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/events.txt" \
  --rate "$RATE" >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err"
producer=$!

rows=0
grown_past() {
  rows=$(pg_count "$table")
  ((rows >= $1))
}
wait_until 20 grown_past $((EVENTS / 5)) ||
  fail "the table did not grow to $((EVENTS / 5)) rows in 20 s ($rows rows)"
own_pg kill
down=$SECONDS
log "database killed at $rows rows"

retrying() {
  grep -qE '^WARN: sink postgres: .+; retrying in [0-9.]+ s, nothing acknowledged meanwhile \(giving up in [0-9]+ s\)$' \
    "$IT_TMP/consumer.err"
}
wait_until 15 retrying ||
  fail "no 'sink postgres: ...; retrying in' WARN line in 15 s of the outage"
kill -0 "$producer" 2>/dev/null ||
  fail "the stream ended as the outage began: the outage was not mid-stream"
# Offsets acknowledged just before the crash are committed within a second:
# after that, nothing may move until the database is back.
sleep 1.5
scrape "$port" >"$IT_TMP/metrics1.txt"
committed1=$(committed_total "$group" "$topic")
acked1=$(metric_value "$IT_TMP/metrics1.txt" event_ingest_messages_acknowledged_total)
[[ -n $acked1 ]] || fail "/metrics has no event_ingest_messages_acknowledged_total"
# The second look (about 2 s) ends the outage.
while ((SECONDS - down < OUTAGE_S - 2)); do
  sleep 0.2
done
kill -0 "$consumer" 2>/dev/null || fail "the consumer exited while the database was down"
scrape "$port" >"$IT_TMP/metrics2.txt"
committed2=$(committed_total "$group" "$topic")
acked2=$(metric_value "$IT_TMP/metrics2.txt" event_ingest_messages_acknowledged_total)
retries=$(metric_value "$IT_TMP/metrics2.txt" event_ingest_sink_retries_total)
ready=$(http_status "$port" readyz)
streaming=yes
kill -0 "$producer" 2>/dev/null || streaming=no
own_pg resume
outage=$((SECONDS - down))
log "database back after $outage s (still publishing: $streaming);" \
  "/readyz was $ready during the outage, $retries sink retries"
expect_eq "messages acknowledged while the database was down (/metrics)" \
  "$acked2" "$acked1"
expect_eq "offsets committed while the database was down (from $committed1)" \
  "$committed2" "$committed1"
((${retries:-0} > 0)) || fail "event_ingest_sink_retries_total is ${retries:-absent} after the outage"
((committed1 < EVENTS)) || fail "everything was committed before the outage"

rc=0
reap "$producer" || rc=$?
expect_eq "producer exit status" "$rc" 0
n=$(grep -c '^Published message ' "$IT_TMP/producer.out" || true)
expect_eq "events published" "$n" "$EVENTS"
exited() { ! kill -0 "$consumer" 2>/dev/null; }
wait_until 90 exited || fail "the consumer did not exit (--idle-exit 5) within 90 s of the stream's end"
rc=0
reap "$consumer" || rc=$?
expect_eq "consumer exit status" "$rc" 0
expect_summary "$IT_TMP/consumer.err" "consumed=$EVENTS" "valid=$EVENTS" \
  toxic=0 unacknowledged=0
n=$(grep -c '^WARN: sink postgres: .*; retrying in ' "$IT_TMP/consumer.err" || true)
((n >= 2)) || fail "$n retry WARN lines during a $OUTAGE_S s outage"
committed=$(committed_total "$group" "$topic")
expect_eq "offsets committed at the end" "$committed" "$EVENTS"
topic_dump "$topic" "$IT_TMP/a.dump"
pg_expected "$IT_TMP/a.dump" "$topic" "$table" "" "$IT_TMP/expected-a"
expect_eq "expected rows" "$(count_lines "$IT_TMP/expected-a/$table.tsv")" "$EVENTS"
pg_expect_table "$table" "$IT_TMP/expected-a/$table.tsv" "$topic"
pg_event_verify --topic "$topic" --pg-table "$table"
log "A ok: $EVENTS events, database down ${outage}s mid-stream with" \
  "$acked1 acknowledged and $committed1 committed, none more meanwhile; $n" \
  "retry warnings; all in the table"

# --- B: down longer than --sink-timeout -----------------------------------
topic=$(unique_name topic-b)
group=$(unique_name group-b)
table=$(pg_unique_table outage_b)
create_topic "$topic" "$PARTITIONS"
events "$((FIRST + SECOND))" b >"$IT_TMP/events-b.txt"
head -n "$FIRST" "$IT_TMP/events-b.txt" >"$IT_TMP/first.txt"
tail -n "$SECOND" "$IT_TMP/events-b.txt" >"$IT_TMP/second.txt"
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/first.txt" \
  >/dev/null 2>"$IT_TMP/producer-b1.err" || fail "producer (first part) failed"

spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --sink postgres \
  --pg-dsn "$PG" --pg-table "$table" --sink-timeout "$SHORT_TIMEOUT" \
  --idle-exit 60 >"$IT_TMP/b.out" 2>"$IT_TMP/b.err"
consumer=$!
wait_until 20 grown_past "$FIRST" ||
  fail "the first $FIRST events did not reach the table in 20 s ($rows rows)"
# Their offsets are committed within a second.
sleep 1.5
committed1=$(committed_total "$group" "$topic")
expect_eq "offsets committed for the first part" "$committed1" "$FIRST"
own_pg stop
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/second.txt" \
  >/dev/null 2>"$IT_TMP/producer-b2.err" || fail "producer (second part) failed"
t0=$SECONDS
wait_until $((SHORT_TIMEOUT + 20)) exited ||
  fail "the consumer was still running $((SHORT_TIMEOUT + 20)) s after the" \
    "database went down (--sink-timeout $SHORT_TIMEOUT)"
took=$((SECONDS - t0))
rc=0
reap "$consumer" || rc=$?
expect_eq "exit status after --sink-timeout $SHORT_TIMEOUT" "$rc" 69
grep -q '^WARN: sink postgres: .*; retrying in ' "$IT_TMP/b.err" ||
  fail "no retry WARN line before giving up"
grep -qE '^ERROR: sink postgres: .*the batch was not written within --sink-timeout' \
  "$IT_TMP/b.err" || fail "no ERROR line saying the batch was not written within --sink-timeout"
expect_summary "$IT_TMP/b.err" "consumed=$FIRST"
unacked=$(summary_value "$IT_TMP/b.err" unacknowledged)
((unacked > 0 && unacked <= SECOND)) ||
  fail "summary unacknowledged=$unacked, expected 1 to $SECOND (the batch in hand)"
committed2=$(committed_total "$group" "$topic")
expect_eq "offsets committed after giving up" "$committed2" "$committed1"

own_pg resume
rows=$(pg_count "$table")
expect_eq "rows after giving up" "$rows" "$FIRST"
run rerun "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --sink postgres \
  --pg-dsn "$PG" --pg-table "$table" --idle-exit 3
expect_eq "rerun exit status" "$RC" 0
expect_summary "$IT_TMP/rerun.err" "consumed=$SECOND" unacknowledged=0
topic_dump "$topic" "$IT_TMP/b.dump"
pg_expected "$IT_TMP/b.dump" "$topic" "$table" "" "$IT_TMP/expected-b"
pg_expect_table "$table" "$IT_TMP/expected-b/$table.tsv" "$topic"
pg_event_verify --topic "$topic" --pg-table "$table"
log "B ok: gave up (69) ${took}s after the database stopped, $unacked" \
  "unacknowledged, offsets kept at $committed1; the rerun completed the table"

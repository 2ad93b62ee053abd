#!/usr/bin/env bash
# Issue 10, test 3: event-consumer --sink postgres SIGKILLed KILLS times in
# the middle of a paced keyed stream (unique events, then updates, exact
# duplicates, invalidations, tombstones and re-creations of earlier ones,
# and a few toxic messages), restarted in the same group each time; a last
# run exits once idle. The table is then exactly what the topic says, as
# if each message had been applied once in order: the events' latest
# versions, tombstoned ones absent (and re-created ones back), at the
# offsets of their last messages; the tombstone table holds every
# tombstone. Every kill leaves messages that reached the table but whose
# offsets were not committed (they are committed a second apart), which
# the next run reads again: that the table is still exact shows the
# merges are idempotent and that a redelivered upsert never undoes a later
# tombstone. The test checks that such redeliveries really happened.
#
# Each kill comes once the table has grown past a point of its own (spread
# over the stream) and the run has lived MIN_LIFE_MS, before the group has
# committed the whole stream. The consumer restarts with the same --instance-id, as under an orchestrator:
# a dynamic member would wait out the dead one's session at every restart.
# event-verify (the third argument) must agree with the final tables too.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"
require_broker
require_pg

readonly PARTITIONS=3 EVENTS=20000 RATE=600 KILLS=5
# Each run lives at least this long, so that it commits something (stored
# offsets are committed a second apart): runs killed at once would leave
# an ever larger backlog to the next.
readonly MIN_LIFE_MS=2000
topic=$(unique_name topic)
group=$(unique_name group)
id=$(unique_name member)
table=$(pg_unique_table kill)
create_topic "$topic" "$PARTITIONS"

# KEY<TAB>VALUE lines (publish_keyed): EVENTS unique events, each keyed by
# its event_id, and after event i, now and then, another message about an
# earlier one: an update, an exact duplicate, an invalidation (is_valid
# false), a tombstone (empty value), the re-creation of a tombstoned one; a
# few toxic messages.
python3 - "$EVENTS" "$topic" >"$IT_TMP/messages.txt" <<'EOF'
import json, sys
n, tag = int(sys.argv[1]), sys.argv[2]
services = ["auth-service", "payment-service", "search-service", "api-gateway"]
levels = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
def event(i, rev, **extra):
    ev = {"event_id": "ev-%06d" % i,
          "timestamp": "2026-11-22T10:%02d:%02d.%03dZ" % (i // 3600 % 60, i // 60 % 60, i % 1000),
          "service_name": services[i % len(services)],
          "level": levels[i % len(levels)],
          "message": "event %d rev %d of %s \u00e9t\u00e9 \u2713 \"quoted\" back\\slash" % (i, rev, tag),
          "seq": i, "rev": rev}
    ev.update(extra)
    return ev
def put(ev):
    text = json.dumps(ev, ensure_ascii=False, separators=(",", ":"))
    print("%s\t%s" % (ev["event_id"], text))
last = {}
for i in range(n):
    last[i] = event(i, 1)
    put(last[i])
    if i % 10 == 3 and i >= 5:       # an update of i-5
        last[i - 5] = event(i - 5, 2, level="ERROR", updated=True)
        put(last[i - 5])
    if i % 50 == 25:                 # i-1 again, byte for byte
        put(last[i - 1])
    if i % 20 == 7 and i >= 3:       # i-3 invalidated
        last[i - 3] = dict(last[i - 3], is_valid=False)
        put(last[i - 3])
    if i % 20 == 11 and i >= 8:      # a tombstone for i-8
        print("ev-%06d\t" % (i - 8))
    if i % 100 == 51 and i >= 48:    # i-48, tombstoned at i-40, re-created
        last[i - 48] = event(i - 48, 3, recreated=True)
        put(last[i - 48])
    if i % 1000 == 999:              # toxic: not JSON
        print("toxic-%d\tnot json {" % i)
EOF
messages=$(count_lines "$IT_TMP/messages.txt")
log "$messages messages at $RATE/s, $PARTITIONS partitions, table $table"

spawn publish_keyed "$topic" "$IT_TMP/messages.txt" "$RATE"
producer=$!

# max_offsets: the highest offset of each partition whose message the
# table shows (rows and tombstones), "PARTITION OFFSET" lines.
max_offsets() {
  pg_sql 'SELECT source_partition, max(source_offset) FROM
            (SELECT source_partition, source_offset FROM :"t"
             UNION ALL SELECT source_partition, source_offset FROM :"tt") x
          GROUP BY 1 ORDER BY 1' "t=$table" "tt=${table}__tombstones" |
    tr '\t' ' '
}

rows=0
count_rows() {
  rows=$(pg_sql "SELECT CASE WHEN to_regclass(:'t') IS NULL THEN 0
                   ELSE (SELECT count(*) FROM $table) END" "t=$table")
}
grown_past() {
  count_rows
  ((rows >= $1))
}

redelivered=0 acked=0
consumer_args=(-b "$BROKERS" -t "$topic" -g "$group" --instance-id "$id"
  --sink postgres --pg-dsn "$PG" --pg-table "$table")
for k in $(seq "$KILLS"); do
  spawn "$CONSUMER" "${consumer_args[@]}" --idle-exit 60 \
    --metrics-addr 127.0.0.1:0 >"$IT_TMP/run$k.out" 2>"$IT_TMP/run$k.err"
  pid=$!
  born=$(now_ms)
  port=$(metrics_port "$IT_TMP/run$k.err")
  # Points spread over the stream's unique events, at different phases of
  # the runs' batches.
  point=$((k * EVENTS * 4 / 5 / KILLS + k * 97))
  if ! wait_until 40 grown_past "$point"; then
    kill -0 "$pid" 2>/dev/null || fail "run $k exited early (see run$k.err)"
    fail "the table did not grow to $point rows in 40 s (run $k; $rows rows)"
  fi
  while (($(now_ms) - born < MIN_LIFE_MS)); do
    sleep 0.1
  done
  # Its counts so far, for the log.
  scrape "$port" >"$IT_TMP/metrics$k.txt"
  crash "$pid"
  streaming=yes
  kill -0 "$producer" 2>/dev/null || streaming=no
  # What the killed run wrote that its group did not commit: the next run
  # reads it again.
  pg_at=$(max_offsets)
  committed=$(group_offsets "$group" "$topic")
  again=$(awk 'NR == FNR { c[$1] = ($2 == "-" ? 0 : $2); next }
               { d = $2 + 1 - c[$1]; if (d > 0) n += d } END { print n + 0 }' \
    <(echo "$committed") <(echo "$pg_at"))
  n=$(awk '$2 != "-" { n += $2 } END { print n + 0 }' <<<"$committed")
  ((n < messages)) ||
    fail "kill $k came after the group had committed all $messages messages: not mid-stream"
  log "kill $k at $rows rows (still publishing: $streaming): $again messages" \
    "in the table, not committed (table at: ${pg_at//$'\n'/, }; committed:" \
    "${committed//$'\n'/, }; commits $(metric_value "$IT_TMP/metrics$k.txt" \
      event_ingest_commits_total), failed $(metric_value "$IT_TMP/metrics$k.txt" \
      event_ingest_commit_errors_total))"
  redelivered=$((redelivered + again))
  acked=$((acked + $(metric_value "$IT_TMP/metrics$k.txt" \
    event_ingest_messages_acknowledged_total)))
done

rc=0
reap "$producer" || rc=$?
expect_eq "producer (kcat) exit status ($(tail -n 2 "$IT_TMP/kcat-P-$topic.err"))" \
  "$rc" 0

# The last run reads what is left and exits once idle.
run last "$CONSUMER" "${consumer_args[@]}" --idle-exit 5
expect_eq "last run exit status" "$RC" 0
expect_summary "$IT_TMP/last.err" unacknowledged=0
last_consumed=$(summary_value "$IT_TMP/last.err" consumed)
committed=$(committed_total "$group" "$topic")
expect_eq "offsets committed by the group at the end" "$committed" "$messages"

topic_dump "$topic" "$IT_TMP/topic.dump"
pg_expected "$IT_TMP/topic.dump" "$topic" "$table" "" "$IT_TMP/expected"
n=$(count_lines "$IT_TMP/expected/$table.tsv")
log "expected: $n rows, $(count_lines "$IT_TMP/expected/tombstones.tsv") tombstones"
pg_expect_table "$table" "$IT_TMP/expected/$table.tsv" "$topic"
pg_expect_tombstones "${table}__tombstones" "$IT_TMP/expected/tombstones.tsv"
tables=$(pg_tables_with_prefix "$table")
expect_eq "tables made" "$tables" "$(cat "$IT_TMP/expected/tables")"
((redelivered > 0)) ||
  fail "no kill left a message in the table uncommitted: nothing was" \
    "redelivered, so the test proved nothing about redelivery"
pg_event_verify --topic "$topic" --pg-table "$table"
log "ok: $KILLS kills, $redelivered messages delivered again, table exact" \
  "($n rows); the runs acknowledged at least $((acked + last_consumed))" \
  "messages in all, of $messages"

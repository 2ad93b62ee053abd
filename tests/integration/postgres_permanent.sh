#!/usr/bin/env bash
# Issue 10, test 6: permanent errors of the postgres sink. The consumer
# starts (connects, and CREATE TABLE IF NOT EXISTS leaves a table that is
# there alone), but writing a batch fails with an SQLSTATE that no retry can
# cure: it exits 69 at once, with an ERROR line naming the SQLSTATE, having
# acknowledged nothing of the batch (summary unacknowledged > 0, nothing
# consumed, nothing new in the table, the group's committed offsets where
# they were); once the table is fixed, a rerun in the same group reads
# every message the failed run had (the table complete).
#
# A. The events table made beforehand with a column of the wrong type
#    (event_time integer): every batch fails (SQLSTATE 42804), the first.
# B. The events table, made by the consumer's first run, gets a CHECK
#    constraint that one event of a later batch violates (SQLSTATE 23514):
#    the whole batch fails, its good events too; committed offsets stay at
#    the first run's.
# C. A DSN that connects to nothing (a free port), or names a database that
#    does not exist: exit 69 at startup, at once, with a clear ERROR.
# event-verify (the third argument) agrees with each completed table, and
# finds B's incomplete one wanting.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"
require_broker
require_pg

readonly PARTITIONS=2

# N valid events with unique event_ids, one a line: events N TAG
events() {
  python3 - "$@" <<'EOF'
import json, sys
n, tag = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    print(json.dumps({"event_id": "%s-%04d" % (tag, i),
                      "timestamp": "2026-11-22T13:00:%02d.%03dZ" % (i % 60, i),
                      "service_name": "svc-%d" % (i % 4), "level": "INFO",
                      "message": "event %d of %s" % (i, tag)},
                     separators=(",", ":")))
EOF
}

# consume NAME TOPIC GROUP TABLE: one run, --idle-exit 3, leaving NAME.out,
# NAME.err, RC and the seconds it took in TOOK.
consume() {
  local t0=$SECONDS
  run "$1" "$CONSUMER" -b "$BROKERS" -t "$2" -g "$3" --sink postgres \
    --pg-dsn "$PG" --pg-table "$4" --idle-exit 3
  TOOK=$((SECONDS - t0))
}

# expect_permanent NAME SQLSTATE: run NAME exited 69 on a permanent error
# of that SQLSTATE, having acknowledged nothing.
expect_permanent() {
  local unacked
  expect_eq "$1: exit status" "$RC" 69
  grep -qE "^ERROR: .*SQLSTATE $2: " "$IT_TMP/$1.err" ||
    fail "$1: no ERROR line naming SQLSTATE $2: $(grep -m 1 '^ERROR' "$IT_TMP/$1.err")"
  ! grep -q 'retrying in' "$IT_TMP/$1.err" ||
    fail "$1: retried a permanent error: $(grep -m 1 'retrying in' "$IT_TMP/$1.err")"
  expect_summary "$IT_TMP/$1.err" consumed=0 valid=0
  unacked=$(summary_value "$IT_TMP/$1.err" unacknowledged)
  ((unacked > 0)) || fail "$1: summary unacknowledged=$unacked, expected > 0"
  echo "$unacked"
}

# --- A: a column of the wrong type ----------------------------------------
topic=$(unique_name topic-a)
group=$(unique_name group-a)
table=$(pg_unique_table perm_a)
create_topic "$topic" "$PARTITIONS"
pg_sql 'CREATE TABLE :"t" (event_id text PRIMARY KEY, payload jsonb NOT NULL,
          event_time integer, received_time timestamptz NOT NULL,
          is_valid boolean NOT NULL, source_topic text NOT NULL,
          source_partition integer, source_offset bigint)' "t=$table"
events 300 a >"$IT_TMP/a.txt"
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/a.txt" >/dev/null \
  2>"$IT_TMP/producer-a.err" || fail "producer (A) failed"
consume a1 "$topic" "$group" "$table"
unacked=$(expect_permanent a1 42804)
expect_eq "A: rows after the failed run" "$(pg_count "$table")" 0
offsets=$(group_offsets "$group" "$topic")
[[ -z $(awk '$2 != "-"' <<<"$offsets") ]] ||
  fail "A: the group committed offsets after the failed run: $offsets"
took_a=$TOOK
pg_sql 'ALTER TABLE :"t" ALTER COLUMN event_time TYPE timestamptz USING NULL' \
  "t=$table"
consume a2 "$topic" "$group" "$table"
expect_eq "A: rerun exit status" "$RC" 0
expect_summary "$IT_TMP/a2.err" consumed=300 unacknowledged=0
topic_dump "$topic" "$IT_TMP/a.dump"
pg_expected "$IT_TMP/a.dump" "$topic" "$table" "" "$IT_TMP/exp-a"
pg_expect_table "$table" "$IT_TMP/exp-a/$table.tsv" "$topic"
pg_event_verify --topic "$topic" --pg-table "$table"
log "A ok: 42804 -> exit 69 in ${took_a}s, $unacked unacknowledged, nothing" \
  "committed; the rerun after the fix wrote all 300"

# --- B: a constraint one event of a later batch violates ------------------
topic=$(unique_name topic-b)
group=$(unique_name group-b)
table=$(pg_unique_table perm_b)
# One partition: the second part, all there before the run starts, then
# comes in one fetch, one batch (at most 512), poison and all; over two, a
# first batch without the poison could be written and acknowledged.
create_topic "$topic" 1
events 500 b >"$IT_TMP/b.txt"
head -n 200 "$IT_TMP/b.txt" >"$IT_TMP/b1.txt"
# The poison: one event in the middle of the second part.
tail -n 300 "$IT_TMP/b.txt" |
  sed '150s/"message":"event /"message":"poison event /' >"$IT_TMP/b2.txt"
grep -c poison "$IT_TMP/b2.txt" >/dev/null || fail "no poison event made"
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/b1.txt" >/dev/null \
  2>"$IT_TMP/producer-b1.err" || fail "producer (B, first part) failed"
consume b1 "$topic" "$group" "$table"
expect_eq "B: first run exit status" "$RC" 0
expect_summary "$IT_TMP/b1.err" consumed=200 unacknowledged=0
committed1=$(committed_total "$group" "$topic")
expect_eq "B: offsets committed by the first run" "$committed1" 200
pg_sql "ALTER TABLE :\"t\" ADD CONSTRAINT no_poison
          CHECK (payload->>'message' NOT LIKE 'poison%')" "t=$table"
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/b2.txt" >/dev/null \
  2>"$IT_TMP/producer-b2.err" || fail "producer (B, second part) failed"
consume b2 "$topic" "$group" "$table"
unacked=$(expect_permanent b2 23514)
took_b=$TOOK
expect_eq "B: rows after the failed run" "$(pg_count "$table")" 200
committed2=$(committed_total "$group" "$topic")
expect_eq "B: offsets committed after the failed run" "$committed2" "$committed1"
pg_event_verify --differs --topic "$topic" --pg-table "$table"
pg_sql 'ALTER TABLE :"t" DROP CONSTRAINT no_poison' "t=$table"
consume b3 "$topic" "$group" "$table"
expect_eq "B: rerun exit status" "$RC" 0
expect_summary "$IT_TMP/b3.err" consumed=300 unacknowledged=0
topic_dump "$topic" "$IT_TMP/b.dump"
pg_expected "$IT_TMP/b.dump" "$topic" "$table" "" "$IT_TMP/exp-b"
expect_eq "B: expected rows" "$(count_lines "$IT_TMP/exp-b/$table.tsv")" 500
pg_expect_table "$table" "$IT_TMP/exp-b/$table.tsv" "$topic"
pg_event_verify --topic "$topic" --pg-table "$table"
log "B ok: 23514 -> exit 69 in ${took_b}s, $unacked unacknowledged," \
  "offsets kept at $committed1; the rerun wrote the other 300"

# --- C: a DSN that reaches no database, at startup ------------------------
topic=$(unique_name topic-c)
group=$(unique_name group-c)
port=$(free_port)
start_fails() {
  local name=$1 dsn=$2 word=$3 t0=$SECONDS
  run "$name" "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --sink postgres \
    --pg-dsn "$dsn" --pg-table "$(pg_unique_table perm_c)" --idle-exit 3
  expect_eq "$name: exit status" "$RC" 69
  ((SECONDS - t0 <= 10)) || fail "$name: took $((SECONDS - t0)) s to give up"
  grep -qE "^ERROR: postgres sink: connecting to PostgreSQL: .*$word" \
    "$IT_TMP/$name.err" ||
    fail "$name: no clear ERROR: $(cat "$IT_TMP/$name.err")"
  [[ ! -s $IT_TMP/$name.out ]] || fail "$name: wrote to stdout"
}
start_fails c1 "host=127.0.0.1 port=$port dbname=eventingest user=eventingest" \
  'Connection refused'
# (A short name: the consumer shows the first 99 bytes of libpq's message.)
start_fails c2 "$PG dbname=it_nodb" 'database "it_nodb" does not exist'
offsets=$(group_offsets "$group" "$topic")
[[ -z $offsets ]] || fail "C: the group exists after runs that could not start: $offsets"
log "C ok: a refused connection and a missing database: exit 69 at startup"

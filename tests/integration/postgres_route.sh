#!/usr/bin/env bash
# Issue 10, test 5: --pg-route-by event_type. Events whose event_type is a
# plain name ("login", "user_activity"), one differing only in case
# ("Login", "LOGIN": the same table), names that must be changed ("Order
# Placed!", "order placed", " login ": each its own table, told apart by a
# hash), too long ones (300 bytes; one of exactly the room left in 63
# bytes, one a byte more), unicode ("café ☕", "日本語"), hostile ones (SQL
# that would drop or empty a canary table or the events table, "pg_class",
# "pg_catalog.pg_class", names like the tombstone table's), and values that
# name no table (empty, a number, null, true, an array, an object, the
# member missing: the events table). One event is skipped (a NUL in its
# event_type). One event changes type (it is then in both tables).
#
# The table names are computed here from the contract's rule (lowercase,
# [^a-z0-9_] -> _, runs of _ collapsed, no _ first or last, cut to fit 63
# bytes, "_" + FNV-1a 32 of the value when anything but case changed or
# was cut; not a non-empty string -> the events table), not by the
# consumer's code. The tables made are exactly those, each holding exactly
# its events; a canary table made beforehand is untouched. Then a second
# run (a new process, which must find the routed tables in the database)
# reads tombstones for events in several routed tables, the events table
# and both tables of the event that changed type, and a re-creation: each
# tombstone deletes its row wherever it is.
# event-verify (the third argument) must agree with the final tables too.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"
require_broker
require_pg

topic=$(unique_name topic)
group=$(unique_name group)
table=$(pg_unique_table route)
canary=$(pg_unique_table canary)
create_topic "$topic" 2

# The canary: not one of the consumer's tables, named by the hostile
# event types.
pg_sql "CREATE TABLE :\"c\" (id integer PRIMARY KEY, note text);
        INSERT INTO :\"c\" VALUES (1, 'one'), (2, 'two \"2\"'), (3, 'three')" \
  "c=$canary"
canary_sum() {
  pg_sql "SELECT count(*) || ' ' || md5(string_agg(id || ':' || note, ',' ORDER BY id))
          FROM :\"c\"" "c=$canary"
}
canary_before=$(canary_sum)

# KEY<TAB>VALUE lines: phase1.txt the events, phase2.txt the tombstones,
# a re-creation and one more new type.
python3 - "$IT_TMP" "$table" "$canary" <<'EOF'
import json, os, sys
out, table, canary = sys.argv[1:4]
MISSING = object()
room = 63 - len(table) - 1
types = [
    "login", "Login", "LOGIN", "login", "Order Placed!", "order placed",
    " login ", "user_activity", "user_activity", "a" * 300,
    ("Ab" * 150) + "!", "z" * room, "y" * (room + 1), "café ☕", "CAFÉ",
    "日本語", 'x"; DROP TABLE %s; --' % canary,
    "'); DELETE FROM %s; --" % table, 'x"; DROP TABLE "%s__tombstones"; --' % table,
    "Robert'); DROP TABLE Students;--", "pg_class", "pg_catalog.pg_class",
    table + "__tombstones", "__tombstones", "_tombstones", "tombstones", "_", "__",
    "2024", "a-b", "a b", "a__b", "_a_", "", 42, None, True, ["login"],
    {"event_type": "login"}, MISSING, "nul\u0000type",
    # The primary-key indexes' names: "<table>_pkey", "<table>_x_pkey".
    "pkey", "PKEY", "x", "x_pkey",
]
def event(i, t, rev=1, **extra):
    ev = {"event_id": "rt-%03d" % i,
          "timestamp": "2026-11-22T12:00:%02d.%03dZ" % (i % 60, i),
          "service_name": "svc-%d" % (i % 3), "level": "INFO",
          "message": "routed event %d rev %d" % (i, rev)}
    if t is not MISSING:
        ev["event_type"] = t
    ev.update(extra)
    return ev
def line(ev):
    return "%s\t%s\n" % (ev["event_id"],
                         json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
phase1 = [event(i, t, is_valid=(i % 4 != 1)) for i, t in enumerate(types)]
# A few more events for the busiest tables, then one that changes type.
n = len(types)
phase1 += [event(n + j, t) for j, t in enumerate(["login", "user_activity", "Order Placed!", 7])]
mover = event(n + 10, "login")
phase1 += [mover, event(n + 10, "user_activity", rev=2)]
with open(os.path.join(out, "phase1.txt"), "w") as f:
    f.writelines(line(ev) for ev in phase1)
# Tombstones for: login (rt-000), Order Placed! (rt-004), the 300 a's
# (rt-009), the hostile DROP (rt-016), café (rt-013), the events table
# (rt-034, type 42), the mover (in two tables), an id nobody has; then
# rt-000 re-created, and a new type.
dead = ["rt-000", "rt-004", "rt-009", "rt-016", "rt-013", "rt-034",
        mover["event_id"], "rt-999"]
with open(os.path.join(out, "dead.txt"), "w") as f:
    f.writelines(k + "\n" for k in dead[1:-1])
with open(os.path.join(out, "phase2.txt"), "w") as f:
    f.writelines("%s\t\n" % k for k in dead)
    f.write(line(event(0, "Login", rev=3)))
    f.write(line(event(n + 20, "signup")))
EOF

consume() {
  run "$1" "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --sink postgres \
    --pg-dsn "$PG" --pg-table "$table" --pg-route-by event_type --idle-exit 3
  expect_eq "$1: exit status" "$RC" 0
}

publish_keyed "$topic" "$IT_TMP/phase1.txt" ||
  fail "kcat could not publish: $(cat "$IT_TMP/kcat-P-$topic.err")"
n1=$(count_lines "$IT_TMP/phase1.txt")
consume run1
expect_summary "$IT_TMP/run1.err" "consumed=$n1" "valid=$n1" toxic=0 \
  unacknowledged=0
n=$(grep -c '^WARN: postgres sink: skipping the event at .*NUL character' \
  "$IT_TMP/run1.err" || true)
expect_eq "NUL skip warnings" "$n" 1
grep -qF "writing valid events to PostgreSQL table $table, routed by event_type" \
  "$IT_TMP/run1.err" || fail "run1 does not say how it routes"

# After the first run: the tables and their rows, as the rule says.
topic_dump "$topic" "$IT_TMP/topic1.dump"
pg_expected "$IT_TMP/topic1.dump" "$topic" "$table" event_type "$IT_TMP/exp1"
expect_eq "events skipped for a NUL" "$(count_lines "$IT_TMP/exp1/skipped")" 1
check_tables() {
  local dir=$1 t got
  got=$(pg_tables_with_prefix "$table")
  [[ $got == "$(cat "$dir/tables")" ]] ||
    fail "the tables made are not those the rule gives:"$'\n'"$(diff \
      <(echo "$got") "$dir/tables" | grep '^[<>]' | sed 's/^</made, not expected:/; s/^>/expected, not made:/')"
  while read -r t; do
    [[ $t == "${table}__tombstones" ]] ||
      pg_expect_table "$t" "$dir/$t.tsv" "$topic"
  done <"$dir/tables"
  pg_expect_tombstones "${table}__tombstones" "$dir/tombstones.tsv"
}
check_tables "$IT_TMP/exp1"
# dead_rows DIR: the rows, in all the tables of DIR/tables, of the events
# phase 2 tombstones (DIR/../dead.txt).
dead_rows() {
  local t n total=0
  while read -r t; do
    [[ $t != "${table}__tombstones" ]] || continue
    n=$(pg_sql "CREATE TEMP TABLE dead (event_id text);
                \\copy dead FROM '$IT_TMP/dead.txt'
                SELECT count(*) FROM :\"t\" WHERE event_id IN (SELECT event_id FROM dead)" \
      "t=$t")
    total=$((total + n))
  done <"$1/tables"
  echo "$total"
}
before=$(dead_rows "$IT_TMP/exp1")
expect_eq "rows of the events phase 2 tombstones, before it (6 events, one in two tables)" \
  "$before" 7
routed=$(($(count_lines "$IT_TMP/exp1/tables") - 2))
longest=$(pg_sql "SELECT max(octet_length(c.relname)) FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = current_schema()
                    AND left(c.relname, length(:'p')) = :'p'" "p=$table")
expect_eq "the longest table name (bytes)" "$longest" 63
zs=$(printf "%$((63 - ${#table} - 1))s" "" | tr ' ' z)
exact=$(pg_sql "SELECT to_regclass(quote_ident(:'t')) IS NOT NULL" "t=${table}_$zs")
expect_eq "the table of a value that just fits 63 bytes, uncut" "$exact" t

# Tombstones, read by a new process: every routed table is reached.
publish_keyed "$topic" "$IT_TMP/phase2.txt" ||
  fail "kcat could not publish: $(cat "$IT_TMP/kcat-P-$topic.err")"
n2=$(count_lines "$IT_TMP/phase2.txt")
consume run2
expect_summary "$IT_TMP/run2.err" "consumed=$n2" tombstones=8 unacknowledged=0
topic_dump "$topic" "$IT_TMP/topic2.dump"
pg_expected "$IT_TMP/topic2.dump" "$topic" "$table" event_type "$IT_TMP/exp2"
check_tables "$IT_TMP/exp2"
# The tombstones did delete, wherever the rows were: in the events table,
# in routed tables, in both tables of the event that changed type.
after=$(dead_rows "$IT_TMP/exp2")
expect_eq "rows of tombstoned events left" "$after" 0

canary_after=$(canary_sum)
expect_eq "canary table $canary (rows and md5)" "$canary_after" "$canary_before"
n=$(pg_count "$table")
((n > 0)) || fail "the events table $table is empty"
pg_event_verify --topic "$topic" --pg-table "$table" --pg-route-by event_type
pg_sql 'DROP TABLE :"c"' "c=$canary"
log "ok: $routed routed tables named by the rule (longest 63 bytes)," \
  "each with its rows; the events table has $n; tombstones reached every" \
  "table; canary intact"

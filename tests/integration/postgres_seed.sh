#!/usr/bin/env bash
# Issue 10, seed-003: a realistic stream into PostgreSQL, then event-verify.
#
# One topic of 3 partitions, each message keyed by its event_id (so that an
# id's history stays in one partition, in order): 1,000 events with ids of
# their own (event_type and is_valid: true on some), 5 without an event_id,
# 100 exact duplicates, 50 invalidations (an id sent again later with
# "is_valid": false and another message), 30 tombstones (NULL values keyed
# by an id sent earlier) and 20 toxic messages (some carrying an id that
# exists), shuffled with each id's versions in order. 1,205 messages.
#
#  1. event-consumer --sink postgres: the table is exactly what the
#     generator says it must be (975 rows: 1,000 - 30 tombstoned + 5
#     unkeyed; the 50 invalidated ones false with their new payload; the 30
#     tombstoned absent and in the tombstone table; nothing toxic), and
#     exactly what the contract makes of the topic as kcat reads it (row
#     positions included, pg_lib.sh's pg_expected); its summary counts them.
#  2. event-verify agrees, on the topic and on an NDJSON file of the same
#     events (file mode: no deletes, so the file leaves out the tombstoned
#     ids; with them, they are missing); it refuses what it cannot check
#     with the documented exit statuses.
#  3. The consumer again, same group: nothing new, the tables unchanged
#     byte for byte.
#  4. The table tampered with (a row deleted, one added, a payload changed,
#     a tombstoned id put back): event-verify exits 1 with
#     missing=1 extra=1 stale=1 undeleted=1, naming each.
#
# Runs in about 15 s. IT_SEED picks the shuffle (default: a new one each
# run, logged).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"
require_broker
require_pg
[[ -x $VERIFY ]] || fail "event-verify ($VERIFY) is not an executable"

topic=$(unique_name topic)
group=$(unique_name group)
table=$(pg_unique_table seed)
seed=${IT_SEED:-$RANDOM}
log "topic $topic, table $table, seed $seed (IT_SEED)"

# The tables go with the run (pg_sql is not for a trap: it fails the test).
it_on_exit() {
  [[ -z ${IT_KEEP:-} && -n $PG ]] || return 0
  PGCONNECT_TIMEOUT=5 "$PSQL" -X -q -d "$PG" -v ON_ERROR_STOP=1 \
    -v "t=$table" -v "x=${table}__tombstones" -f - \
    <<<'DROP TABLE IF EXISTS :"t", :"x"' >/dev/null 2>&1 ||
    log "could not drop tables $table and ${table}__tombstones"
}

create_topic "$topic" 3

# The stream (messages.tsv: KEY<TAB>VALUE, an empty VALUE a tombstone), what
# it must leave in the table (expected.json), and the NDJSON files for
# event-verify --source: file.ndjson every message but the tombstones and
# the events of tombstoned ids, file-all.ndjson every message but the
# tombstones.
python3 - "$IT_TMP" "$seed" <<'EOF' || fail "could not generate the stream"
import json, os, random, sys

out, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
services = ["auth-service", "payment-service", "search-service",
            "api-gateway", "inventory-service"]
levels = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
types = ["login", "logout", "payment", "search", "page_view", "error"]

def dumps(ev):
    return json.dumps(ev, ensure_ascii=False, separators=(",", ":"))

def event(i, **extra):
    ev = {"timestamp": "2026-11-22T%02d:%02d:%02d.%03dZ"
                       % (i // 3600 % 24, i // 60 % 60, i % 60, i % 1000),
          "service_name": services[i % len(services)],
          "level": levels[i % len(levels)],
          "message": "event %d: caf\u00e9 \u2713 \"quoted\" back\\slash" % i,
          "event_type": types[i % len(types)],
          "user_id": 1000 + i}
    if i % 2 == 0:
        ev["is_valid"] = True
    ev.update(extra)
    return ev

# Each message: (time, key, value or None, event_id or None). A key's
# versions follow each other in time, so they are produced in that order.
msgs = []
ids = ["seed-%04d" % i for i in range(1000)]
first = {}
for i, eid in enumerate(ids):
    t = rnd.random()
    first[eid] = (t, dumps(event(i, event_id=eid)))
    msgs.append((t, eid, first[eid][1], eid))
picked = rnd.sample(ids, 80)
invalidated, tombstoned = picked[:50], picked[50:]
duplicated = rnd.sample(ids, 100)
last = {eid: first[eid] for eid in ids}
for eid in duplicated:
    t = last[eid][0] + rnd.random() * 0.3
    last[eid] = (t, first[eid][1])
    msgs.append((t, eid, first[eid][1], eid))
for eid in invalidated:
    i = ids.index(eid)
    t = last[eid][0] + rnd.random() * 0.3
    v = dumps(event(i, event_id=eid, is_valid=False,
                    message="event %d: invalidated after review" % i))
    last[eid] = (t, v)
    msgs.append((t, eid, v, eid))
for eid in tombstoned:
    t = last[eid][0] + rnd.random() * 0.3
    last[eid] = (t, None)
    msgs.append((t, eid, None, eid))
unkeyed = [dumps(event(2000 + i)) for i in range(5)]
for i, v in enumerate(unkeyed):
    msgs.append((rnd.random(), "nokey-%d" % i, v, None))
# Toxic, each with "toxic" in it: JSON that is not an event (some with an id
# that exists, keyed by it), and payloads that are not JSON at all.
ok = {"timestamp": "2026-11-22T10:15:30Z", "service_name": "toxic-service",
      "level": "INFO", "message": "toxic"}
toxic = [
    '{"event_id": "%s", "message": "toxic, no timestamp"' % ids[1],
    dumps({"event_id": ids[2], "message": "toxic: no timestamp"}),
    dumps(dict(ok, event_id=ids[3], level="LOUD")),
    dumps(dict(ok, event_id=ids[4], timestamp="yesterday")),
    dumps(dict(ok, event_id=tombstoned[0], message=42)),
    dumps(dict(ok, service_name="")),
    dumps(["toxic", "an array"]),
    '"toxic: a string"',
    "toxic: plain text",
    '{"toxic": tru}',
    '{"a": "toxic", "a": "duplicate key"}',
    dumps({k: v for k, v in ok.items() if k != "level"}),
    dumps({k: v for k, v in ok.items() if k != "service_name"}),
    dumps({k: v for k, v in ok.items() if k != "message"}),
    dumps(dict(ok, timestamp=1732270530)),
    "{toxic}",
    '{"message": "toxic \\ud800 lone surrogate"}',
    "null",
    '{"toxic": [1, 2,]}',
    "\u00fftoxic \u00fe",
]
assert len(toxic) == 20
for i, v in enumerate(toxic):
    key = ids[i + 1] if i < 4 else tombstoned[0] if i == 4 else "toxic-%d" % i
    t = last[key][0] + 0.01 if key in last else rnd.random()
    msgs.append((t, key, v, None))
msgs.sort(key=lambda m: m[0])

with open(os.path.join(out, "messages.tsv"), "w") as f:
    for _, key, value, _ in msgs:
        assert "\t" not in value and "\n" not in value if value else True
        f.write("%s\t%s\n" % (key, value if value is not None else ""))
gone = set(tombstoned)
with open(os.path.join(out, "file.ndjson"), "w") as f, \
     open(os.path.join(out, "file-all.ndjson"), "w") as g:
    for _, key, value, eid in msgs:
        if value is None:
            continue
        g.write(value + "\n")
        if eid not in gone:
            f.write(value + "\n")
rows = {eid: json.loads(v) for eid, (_, v) in last.items() if v is not None}
json.dump({"rows": rows, "unkeyed": [json.loads(v) for v in unkeyed],
           "invalidated": invalidated, "tombstoned": tombstoned,
           "duplicated": duplicated, "toxic": len(toxic),
           "messages": len(msgs)},
          open(os.path.join(out, "expected.json"), "w"))
EOF
n=$(count_lines "$IT_TMP/messages.tsv")
expect_eq "messages generated" "$n" 1205
publish_keyed "$topic" "$IT_TMP/messages.tsv" ||
  fail "kcat could not produce the stream: $(tail -n 3 "$IT_TMP/kcat-P-$topic.err")"

# --- 1. The consumer writes the table ----------------------------------------
run consume "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" \
  --sink postgres --pg-dsn "$PG" --pg-table "$table" --idle-exit 3
expect_eq "consumer exit status ($(tail -n 2 "$IT_TMP/consume.err"))" "$RC" 0
expect_summary "$IT_TMP/consume.err" consumed=1205 valid=1155 toxic=20 \
  tombstones=30 unacknowledged=0
[[ ! -s $IT_TMP/consume.out ]] || fail "--sink postgres alone wrote to stdout"

# What the generator says the table holds, row by row.
pg_sql 'SELECT event_id, is_valid, payload::text FROM :"t" ORDER BY 1' \
  "t=$table" >"$IT_TMP/table.tsv"
pg_sql 'SELECT event_id FROM :"t" ORDER BY 1' "t=${table}__tombstones" \
  >"$IT_TMP/tombstones.txt"
python3 - "$IT_TMP" "$topic" <<'EOF' || fail "the table is not the expected set (see above)"
import json, os, sys

tmp, topic = sys.argv[1:]
want = json.load(open(os.path.join(tmp, "expected.json")))
problems = []
got, positional = {}, []
for line in open(os.path.join(tmp, "table.tsv"), encoding="utf-8"):
    eid, is_valid, payload = line.rstrip("\n").split("\t", 2)
    row = (is_valid == "t", json.loads(payload))
    if eid.startswith(topic + "/"):
        positional.append(row)
    else:
        got[eid] = row
rows = want["rows"]
print("table: %d rows with an event_id, %d positional" % (len(got), len(positional)))
if len(got) + len(positional) != 975:
    problems.append("%d rows, expected 975" % (len(got) + len(positional)))
for eid in sorted(set(rows) - set(got))[:10]:
    problems.append("missing " + eid)
for eid in sorted(set(got) - set(rows))[:10]:
    problems.append("unexpected row " + eid)
for eid in sorted(set(rows) & set(got)):
    ev = rows[eid]
    if got[eid] != (ev.get("is_valid", True), ev):
        problems.append("%s: %r, expected %r" % (eid, got[eid], ev))
for eid in want["invalidated"]:
    if eid not in got or got[eid][0] or "invalidated" not in got[eid][1]["message"]:
        problems.append("%s: not invalidated: %r" % (eid, got.get(eid)))
for eid in want["tombstoned"]:
    if eid in got:
        problems.append("%s: tombstoned but still there" % eid)
tomb = [l.rstrip("\n") for l in open(os.path.join(tmp, "tombstones.txt"))]
if tomb != sorted(want["tombstoned"]):
    problems.append("tombstone table %r, expected %r" % (tomb, sorted(want["tombstoned"])))
key = lambda r: json.dumps(r, sort_keys=True)
if sorted(map(key, positional)) != sorted(key((True, ev)) for ev in want["unkeyed"]):
    problems.append("the positional rows are not the 5 events without an event_id")
if any("toxic" in json.dumps(ev) for _, ev in list(got.values()) + positional):
    problems.append("a toxic payload is in the table")
for p in problems[:20]:
    print("table %s" % p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

# What the contract makes of the topic as kcat reads it, computed apart from
# the consumer (pg_lib.sh): the same rows at the positions of their last
# versions, and the tombstones at theirs.
topic_dump "$topic" "$IT_TMP/topic.dump"
pg_expected "$IT_TMP/topic.dump" "$topic" "$table" "" "$IT_TMP/expected"
pg_expect_table "$table" "$IT_TMP/expected/$table.tsv" "$topic"
pg_expect_tombstones "${table}__tombstones" "$IT_TMP/expected/tombstones.tsv"
n=$(count_lines "$IT_TMP/expected/$table.tsv")
expect_eq "rows the contract expects" "$n" 975
pg_tables_with_prefix "$table" >"$IT_TMP/tables.txt"
cmp -s "$IT_TMP/tables.txt" "$IT_TMP/expected/tables" ||
  fail "tables made: $(tr '\n' ' ' <"$IT_TMP/tables.txt"), expected" \
    "$(tr '\n' ' ' <"$IT_TMP/expected/tables")"

# --- 2. event-verify agrees ---------------------------------------------------
verify_summary() {
  local n
  n=$(count_lines "$IT_TMP/$1.out")
  expect_eq "event-verify $1: stdout lines" "$n" 1
  expect_eq "event-verify $1 summary" "$(cat "$IT_TMP/$1.out")" "$2"
}

run verify-topic "$VERIFY" -b "$BROKERS" --topic "$topic" --pg-dsn "$PG" \
  --pg-table "$table"
expect_eq "event-verify --topic exit status ($(tail -n 2 "$IT_TMP/verify-topic.err"))" \
  "$RC" 0
verify_summary verify-topic "verify: source=1205 valid=1155 toxic=20 \
tombstones=30 unkeyed=0 skipped=0 expected_rows=975 table_rows=975 missing=0 \
extra=0 stale=0 undeleted=0"
! grep -qE '^(WARN|ERROR): ' "$IT_TMP/verify-topic.err" ||
  fail "event-verify --topic warned: $(grep -m 3 -E '^(WARN|ERROR): ' "$IT_TMP/verify-topic.err")"

# A file names no positions: the 5 events without an event_id are unkeyed,
# their rows not extra. The file leaves out the tombstoned ids' events.
lines=$(count_lines "$IT_TMP/file.ndjson")
valid=$((lines - 20))
run verify-file "$VERIFY" --source "$IT_TMP/file.ndjson" --pg-dsn "$PG" \
  --pg-table "$table"
expect_eq "event-verify --source exit status ($(tail -n 2 "$IT_TMP/verify-file.err"))" \
  "$RC" 0
verify_summary verify-file "verify: source=$lines valid=$valid toxic=20 \
tombstones=0 unkeyed=5 skipped=0 expected_rows=970 table_rows=975 missing=0 \
extra=0 stale=0 undeleted=0"
# The same from stdin.
RC=0
"$VERIFY" --source - --pg-dsn "$PG" --pg-table "$table" \
  <"$IT_TMP/file.ndjson" >"$IT_TMP/verify-stdin.out" \
  2>"$IT_TMP/verify-stdin.err" || RC=$?
expect_eq "event-verify --source - exit status" "$RC" 0
cmp -s "$IT_TMP/verify-file.out" "$IT_TMP/verify-stdin.out" ||
  fail "event-verify --source - says $(cat "$IT_TMP/verify-stdin.out")"
# With the tombstoned ids' events, which a file cannot delete: missing.
run verify-all "$VERIFY" --source "$IT_TMP/file-all.ndjson" --pg-dsn "$PG" \
  --pg-table "$table"
expect_eq "event-verify on file-all.ndjson exit status" "$RC" 1
grep -qE ' expected_rows=1000 table_rows=975 missing=30 extra=0 stale=0 undeleted=0$' \
  "$IT_TMP/verify-all.out" ||
  fail "event-verify on file-all.ndjson says $(cat "$IT_TMP/verify-all.out")"
n=$(grep -c '^WARN: missing: event_id seed-' "$IT_TMP/verify-all.err" || true)
expect_eq "missing ids named" "$n" 10
grep -qx 'WARN: missing: 20 more not shown' "$IT_TMP/verify-all.err" ||
  fail "event-verify does not say how many more are missing"

# What it cannot check, each one ERROR line and its exit status.
expect_error 69 "no such topic" "$VERIFY" -b "$BROKERS" \
  --topic "$(unique_name absent)" --pg-dsn "$PG" --pg-table "$table"
expect_error 66 "$IT_TMP/absent.ndjson" "$VERIFY" \
  --source "$IT_TMP/absent.ndjson" --pg-dsn "$PG" --pg-table "$table"
expect_error 69 "connecting to PostgreSQL" "$VERIFY" \
  --source "$IT_TMP/file.ndjson" \
  --pg-dsn "host=127.0.0.1 port=$(free_port) dbname=eventingest connect_timeout=5" \
  --pg-table "$table"
expect_error 64 "--pg-table" "$VERIFY" --source "$IT_TMP/file.ndjson" \
  --pg-table "Not-A-Table"
expect_error 78 "group.id" "$VERIFY" -b "$BROKERS" --topic "$topic" \
  --pg-dsn "$PG" --pg-table "$table" -X group.id=sneaky

# --- 3. Again: nothing new, nothing changed ----------------------------------
dump_tables() {
  pg_sql 'SELECT event_id, payload::text, is_valid, event_time, received_time,
                 source_topic, source_partition, source_offset
          FROM :"t" ORDER BY 1;
          SELECT * FROM :"x" ORDER BY 1' \
    "t=$table" "x=${table}__tombstones" >"$IT_TMP/$1"
}
dump_tables before.tsv
run again "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" \
  --sink postgres --pg-dsn "$PG" --pg-table "$table" --idle-exit 3
expect_eq "second consumer exit status" "$RC" 0
expect_summary "$IT_TMP/again.err" consumed=0 unacknowledged=0
dump_tables after.tsv
cmp -s "$IT_TMP/before.tsv" "$IT_TMP/after.tsv" ||
  fail "the second run changed the tables: $(diff "$IT_TMP/before.tsv" "$IT_TMP/after.tsv" | head -n 5)"

# --- 4. Tampered with: event-verify says what --------------------------------
read -r gone stale back < <(python3 - "$IT_TMP/expected.json" <<'EOF'
import json, sys
want = json.load(open(sys.argv[1]))
changed = set(want["invalidated"]) | set(want["tombstoned"]) | set(want["duplicated"])
plain = sorted(set(want["rows"]) - changed)
print(plain[0], plain[-1], sorted(want["tombstoned"])[-1])
EOF
)
[[ -n $back ]] || fail "could not pick the rows to tamper with"
pg_sql 'DELETE FROM :"t" WHERE event_id = :'\''gone'\'';
        INSERT INTO :"t" SELECT '\''tamper-extra'\'', payload, event_time,
          received_time, is_valid, source_topic, source_partition, source_offset
          FROM :"t" WHERE event_id = :'\''stale'\'';
        UPDATE :"t" SET payload = payload || '\''{"tampered": true}'\''
          WHERE event_id = :'\''stale'\'';
        INSERT INTO :"t" SELECT :'\''back'\'', payload, event_time,
          received_time, is_valid, source_topic, source_partition, source_offset
          FROM :"t" WHERE event_id = :'\''stale'\''' \
  "t=$table" "gone=$gone" "stale=$stale" "back=$back"
run verify-tampered "$VERIFY" -b "$BROKERS" --topic "$topic" --pg-dsn "$PG" \
  --pg-table "$table"
expect_eq "event-verify on the tampered table: exit status" "$RC" 1
verify_summary verify-tampered "verify: source=1205 valid=1155 toxic=20 \
tombstones=30 unkeyed=0 skipped=0 expected_rows=975 table_rows=976 missing=1 \
extra=1 stale=1 undeleted=1"
for line in "WARN: missing: event_id $gone: expected in table $table" \
  "WARN: extra: event_id tamper-extra: in table $table, not in the source" \
  "WARN: stale: event_id $stale: in table $table, payload differs from the last version" \
  "WARN: undeleted: event_id $back: deleted by a tombstone, still in table $table"; do
  grep -qxF "$line" "$IT_TMP/verify-tampered.err" ||
    fail "event-verify does not say '$line': $(cat "$IT_TMP/verify-tampered.err")"
done
n=$(grep -c '^WARN: ' "$IT_TMP/verify-tampered.err" || true)
expect_eq "event-verify's WARN lines on the tampered table" "$n" 4
log "ok: 1205 messages, 975 rows; event-verify agrees, then finds the 4 changes"

# shellcheck shell=bash
# Helpers shared by the postgres_* integration tests; sourced after lib.sh,
# never run. ctest runs each of them as
#   bash postgres_NAME.sh PRODUCER CONSUMER VERIFY
# VERIFY being event-verify. Besides lib.sh's environment they read
#
#   PG_DSN   the libpq connection string of the PostgreSQL the tests use
#            (scripts/postgres.sh start prints it; scripts/test.sh starts its
#            own). Unset or not answering is a failure, never a skip.
#
# Each test writes tables of its own (pg_unique_table), so that runs never see
# each other's rows and tests can run in parallel on one database.
#
# Expectations are computed here, independently of the consumer's C code:
# from what the topic really holds (kcat), by the rules of the contract
# (docs of the postgres sink), then compared in SQL (payloads as jsonb).

# PG_DSN is read here and passed as --pg-dsn; lib.sh unset the sink's other
# variables.

VERIFY=${3:-}
[[ -n $VERIFY && -x $VERIFY ]] ||
  fail "usage: $0 PRODUCER CONSUMER VERIFY (event-verify; got '$VERIFY')"
PG_SH=${PG_SH:-$IT_DIR/../../scripts/postgres.sh}
# The DSN the pg_* helpers talk to: PG_DSN (require_pg), or a server of the
# test's own.
PG=
readonly VERIFY PG_SH

# psql: Debian's wrapper, or PostgreSQL 15's own.
if command -v psql >/dev/null; then
  PSQL=psql
else
  PSQL=/usr/lib/postgresql/15/bin/psql
fi
readonly PSQL

# pg_answers DSN: true when a server there takes a query within 5 s.
pg_answers() {
  PGCONNECT_TIMEOUT=5 "$PSQL" -X -q -At -d "$1" -c 'SELECT 1' \
    >/dev/null 2>"$IT_TMP/pg-answers.err"
}

# require_pg: PG_DSN is set and a server answers there; it becomes PG.
require_pg() {
  [[ -n ${PG_DSN:-} ]] ||
    fail "PG_DSN is not set. Start PostgreSQL with scripts/postgres.sh start" \
      "and export what it prints (scripts/test.sh does both)."
  pg_answers "$PG_DSN" ||
    fail "no PostgreSQL answers at PG_DSN=$PG_DSN:" \
      "$(tail -n 1 "$IT_TMP/pg-answers.err")"
  PG=$PG_DSN
}

# pg_unique_table WHAT: a table name no other run uses, valid as --pg-table
# ([a-z_][a-z0-9_]*, at most 40 bytes): it_WHAT_<time><pid> in hex.
pg_unique_table() {
  local name
  name=$(printf 'it_%s_%x%x' "$1" "$(date +%s%N)" "$$")
  ((${#name} <= 40)) || fail "pg_unique_table: '$name' is longer than 40 bytes"
  echo "$name"
}

# pg_sql SQL [NAME=VALUE...]: runs the SQL script (several statements and
# psql meta-commands allowed) on PG with each NAME=VALUE as a psql variable
# (:'NAME' a literal, :"NAME" an identifier); prints the rows unaligned,
# tab-separated, without headers. Fails the test on any error. Call it as
# x=$(pg_sql ...) or plainly, not inside a condition (fail exits the test
# only from the main shell).
pg_sql() {
  local sql=$1 kv args=()
  shift
  for kv in "$@"; do
    args+=(-v "$kv")
  done
  PGCONNECT_TIMEOUT=5 "$PSQL" -X -q -At -F $'\t' -v ON_ERROR_STOP=1 \
    -d "$PG" "${args[@]}" -f - <<<"$sql" 2>"$IT_TMP/psql.err" ||
    fail "psql on $PG failed: $(head -c 600 "$IT_TMP/psql.err")"
}

# pg_count TABLE: its rows (fails the test when it does not exist).
pg_count() {
  pg_sql 'SELECT count(*) FROM :"t"' "t=$1"
}

# pg_tables_with_prefix PREFIX: the tables of current_schema() whose name
# starts with PREFIX, one a line, sorted bytewise.
pg_tables_with_prefix() {
  pg_sql "SELECT c.relname FROM pg_class c JOIN pg_namespace n
            ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
            AND left(c.relname, length(:'p')) = :'p'
          ORDER BY convert_to(c.relname, 'UTF8')" "p=$1"
}

# publish_keyed TOPIC FILE [RATE]: publishes each line KEY<TAB>VALUE of FILE
# with kcat, keyed (so that every message of a key goes to one partition,
# in order), an empty VALUE as a NULL value (a tombstone); RATE lines a
# second when given (a paced stream), else as fast as it goes. Idempotent
# producing: a retried send neither duplicates nor reorders.
publish_keyed() {
  local topic=$1 file=$2 rate=${3:-0}
  python3 - "$file" "$rate" <<'EOF' |
import sys, time
path, rate = sys.argv[1], float(sys.argv[2])
out = sys.stdout.buffer
start = time.monotonic()
with open(path, "rb") as f:
    for n, line in enumerate(f):
        out.write(line)
        if rate and n % 20 == 19:
            out.flush()
            ahead = start + (n + 1) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
out.flush()
EOF
    kcat -b "$BROKERS" -t "$topic" -P -K $'\t' -Z -X enable.idempotence=true \
      2>"$IT_TMP/kcat-P-$topic.err"
}

# topic_dump TOPIC FILE: every message of TOPIC, framed by its lengths
# (kcat: "PARTITION OFFSET KEYLEN VALUELEN\nKEYVALUE\n", -1 for NULL), for
# pg_expected.
topic_dump() {
  kcat -b "$BROKERS" -C -e -q -o beginning -t "$1" -f '%p %o %K %S\n%k%s\n' \
    >"$2" || fail "kcat could not read topic $1"
}

# pg_expected DUMP TOPIC TABLE ROUTE_BY OUTDIR: what the postgres sink must
# make of the messages in DUMP (topic_dump of TOPIC) with --pg-table TABLE
# and --pg-route-by ROUTE_BY ("" for none), by the contract's rules,
# reimplemented here: OUTDIR/tables (every table the sink creates: TABLE,
# its tombstone table and each routed table an event went to, one a line),
# OUTDIR/<table>.tsv (its rows as COPY text: event_id, is_valid, payload,
# source_partition, source_offset) and OUTDIR/tombstones.tsv (event_id,
# source_partition, source_offset), OUTDIR/skipped (events skipped for a
# NUL). Messages of one key are all in one partition (publish_keyed), so
# applying them partition by partition in offset order is applying them in
# the order they were published.
pg_expected() {
  mkdir -p "$5"
  python3 - "$@" <<'EOF' || fail "pg_expected: could not compute the expectation"
import json, os, re, sys

dump, topic, table, route_by, outdir = sys.argv[1:6]
LEVELS = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h

def route(ev):
    """The contract: <T>_<part>, part the value lowercased, [^a-z0-9_] made
    '_', runs of '_' collapsed, no '_' first or last, cut to fit 63 bytes;
    if anything but case changed or was cut, or the name would end in
    "_pkey", "_" + 8 hex of FNV-1a 32 of the value's bytes appended. Not a
    non-empty string: <T>."""
    v = ev.get(route_by) if route_by else None
    if not isinstance(v, str) or not v:
        return table
    raw = v.encode("utf-8")
    low = bytes(c + 32 if 65 <= c <= 90 else c for c in raw)
    part = re.sub(rb"_+", b"_", re.sub(rb"[^a-z0-9_]", b"_", low)).strip(b"_")
    # A table may not take a primary-key index's name.
    pkey = part == b"pkey" or part.endswith(b"_pkey")
    if part == low and len(table) + 1 + len(part) <= 63 and not pkey:
        return table + "_" + part.decode()
    part = part[:63 - 9 - len(table) - 1].rstrip(b"_")
    name = "%s_%s%08x" % (table, part.decode() + "_" if part else "", fnv1a(raw))
    assert len(name.encode()) <= 63, name
    return name

def has_nul(v):
    if isinstance(v, str):
        return "\0" in v
    if isinstance(v, list):
        return any(has_nul(x) for x in v)
    if isinstance(v, dict):
        return any(has_nul(x) for x in v.values())
    return False

def valid(ev):
    """The schema, as far as the tests' messages need it: an object with
    string timestamp (RFC 3339), non-empty service_name, level (one of the
    five, as spelt), message (any string)."""
    if not isinstance(ev, dict):
        return False
    for k in ("timestamp", "service_name", "level", "message"):
        if not isinstance(ev.get(k), str):
            return False
    return (bool(TIME.match(ev["timestamp"])) and ev["service_name"] != ""
            and ev["level"] in LEVELS)

def copy_text(s):
    return (s.replace("\\", "\\\\").replace("\t", "\\t")
             .replace("\n", "\\n").replace("\r", "\\r"))

msgs = []
with open(dump, "rb") as f:
    while True:
        head = f.readline()
        if not head:
            break
        p, o, klen, vlen = map(int, head.split())
        key = f.read(klen) if klen >= 0 else None
        value = f.read(vlen) if vlen >= 0 else None
        if f.read(1) != b"\n":
            sys.exit("framing lost in " + dump)
        msgs.append((p, o, key, value))
msgs.sort(key=lambda m: (m[0], m[1]))

tables = {table: {}}
tombstones = {}
skipped = []
for p, o, key, value in msgs:
    if value is None:
        try:
            k = key.decode("utf-8") if key else ""
        except UnicodeDecodeError:
            continue
        if not k or "\0" in k or len(key) > 1024:
            continue
        tombstones[k] = (p, o)
        for rows in tables.values():
            rows.pop(k, None)
        continue
    try:
        ev = json.loads(value)
    except ValueError:
        continue
    if not valid(ev):
        continue
    if has_nul(ev):
        skipped.append("%d/%d" % (p, o))
        continue
    eid = ev.get("event_id")
    if not (isinstance(eid, str) and eid and "\0" not in eid
            and len(eid.encode()) <= 1024):
        eid = "%s/%d/%d" % (topic, p, o)
    is_valid = ev["is_valid"] if isinstance(ev.get("is_valid"), bool) else True
    name = route(ev)
    tables.setdefault(name, {})[eid] = (is_valid, value.decode("utf-8"), p, o)

names = sorted(list(tables) + [table + "__tombstones"], key=lambda s: s.encode())
with open(os.path.join(outdir, "tables"), "w") as f:
    f.writelines(n + "\n" for n in names)
for name, rows in tables.items():
    with open(os.path.join(outdir, name + ".tsv"), "w") as f:
        for eid, (is_valid, payload, p, o) in sorted(rows.items()):
            f.write("%s\t%s\t%s\t%d\t%d\n" % (copy_text(eid), "t" if is_valid else "f",
                                             copy_text(payload), p, o))
with open(os.path.join(outdir, "tombstones.tsv"), "w") as f:
    for k, (p, o) in sorted(tombstones.items()):
        f.write("%s\t%d\t%d\n" % (copy_text(k), p, o))
with open(os.path.join(outdir, "skipped"), "w") as f:
    f.writelines(s + "\n" for s in skipped)
EOF
}

# pg_expect_table TABLE EXPECTED TOPIC: TABLE holds exactly the rows of the
# file EXPECTED (pg_expected's <table>.tsv): the same event_ids, each with
# that is_valid, that payload (compared as jsonb), source_partition and
# source_offset, source_topic TOPIC, and event_time the payload's timestamp.
pg_expect_table() {
  local table=$1 file=$2 topic=$3 out n
  out=$(pg_sql "
    CREATE TEMP TABLE expected (event_id text PRIMARY KEY, is_valid boolean,
      payload jsonb, source_partition integer, source_offset bigint);
    \\copy expected FROM '$file'
    CREATE TEMP VIEW wrong AS
      SELECT coalesce(e.event_id, t.event_id) AS event_id,
             CASE WHEN t.event_id IS NULL THEN 'missing'
                  WHEN e.event_id IS NULL THEN 'unexpected row'
                  WHEN t.payload IS DISTINCT FROM e.payload
                    THEN 'payload ' || left(t.payload::text, 200)
                  WHEN t.is_valid IS DISTINCT FROM e.is_valid
                    THEN 'is_valid ' || t.is_valid::text
                  WHEN t.source_topic IS DISTINCT FROM :'topic'
                    THEN 'source_topic ' || t.source_topic
                  WHEN (t.source_partition, t.source_offset)
                       IS DISTINCT FROM (e.source_partition, e.source_offset)
                    THEN format('at %s/%s, expected %s/%s', t.source_partition,
                                t.source_offset, e.source_partition,
                                e.source_offset)
                  ELSE 'event_time ' || coalesce(t.event_time::text, 'NULL')
             END AS what
      FROM expected e FULL JOIN :\"t\" t ON t.event_id = e.event_id
      WHERE t.event_id IS NULL OR e.event_id IS NULL
         OR t.payload IS DISTINCT FROM e.payload
         OR t.is_valid IS DISTINCT FROM e.is_valid
         OR t.source_topic IS DISTINCT FROM :'topic'
         OR (t.source_partition, t.source_offset)
            IS DISTINCT FROM (e.source_partition, e.source_offset)
         OR t.event_time IS DISTINCT FROM (t.payload->>'timestamp')::timestamptz;
    SELECT count(*) FROM wrong;
    SELECT event_id || ': ' || what FROM wrong ORDER BY 1 LIMIT 10;" \
    "t=$table" "topic=$topic")
  n=${out%%$'\n'*}
  [[ $n == 0 ]] ||
    fail "table $table differs from the expected $(count_lines "$file") rows" \
      "in $n rows, e.g.:"$'\n'"${out#*$'\n'}"
}

# pg_expect_tombstones TABLE EXPECTED: TABLE (a tombstone table) holds
# exactly the tombstones of EXPECTED (pg_expected's tombstones.tsv), each at
# its message's partition and offset.
pg_expect_tombstones() {
  local out n
  out=$(pg_sql "
    CREATE TEMP TABLE expected (event_id text PRIMARY KEY,
      source_partition integer, source_offset bigint);
    \\copy expected FROM '$2'
    CREATE TEMP VIEW wrong AS
      SELECT coalesce(e.event_id, t.event_id) AS event_id,
             format('%s/%s, expected %s/%s', t.source_partition,
                    t.source_offset, e.source_partition, e.source_offset) AS what
      FROM expected e FULL JOIN :\"t\" t ON t.event_id = e.event_id
      WHERE (t.source_partition, t.source_offset)
            IS DISTINCT FROM (e.source_partition, e.source_offset);
    SELECT count(*) FROM wrong;
    SELECT event_id || ': ' || what FROM wrong ORDER BY 1 LIMIT 10;" "t=$1")
  n=${out%%$'\n'*}
  [[ $n == 0 ]] ||
    fail "tombstone table $1 differs from the expected $(count_lines "$2")" \
      "tombstones in $n rows, e.g.:"$'\n'"${out#*$'\n'}"
}

# summary_value FILE KEY: the number KEY=N in the consumer's summary in FILE.
summary_value() {
  local summary
  summary=" $(summary_of "$1") "
  [[ $summary =~ \ $2=([0-9]+)\  ]] ||
    fail "${1##*/}: the summary has no $2: $summary"
  echo "${BASH_REMATCH[1]}"
}

# group_offsets GROUP TOPIC: the offsets GROUP has committed on TOPIC, one
# line "PARTITION OFFSET" a partition ("-" when none), sorted; nothing when
# the group has never existed. Asked of the broker with Kafka's own
# ConsumerGroupCommand, from the jars kafka.sh runs the broker with (in
# KAFKA_HOME_DIR): an account independent of the consumer's. About 2 s.
group_offsets() {
  local libs out rc=0
  require_kafka_sh
  libs=${KAFKA_HOME_DIR:-$IT_DIR/../../.kafka}/libs
  [[ -f $libs/.complete ]] ||
    fail "no Kafka jars in $libs (kafka.sh start fetches them)"
  out=$(java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$IT_DIR/../../scripts/kafka/log4j2.properties" \
    -Dkafka.dev.log.target=SYSTEM_ERR -cp "$libs/*" \
    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$BROKERS" --describe --group "$1" \
    2>"$IT_TMP/group-offsets.log") || rc=$?
  if ((rc != 0)); then
    grep -q GroupIdNotFoundException "$IT_TMP/group-offsets.log" && return 0
    fail "ConsumerGroupCommand --describe --group $1 failed:" \
      "$(grep -m 3 -E 'Exception|ERROR' "$IT_TMP/group-offsets.log")"
  fi
  awk -v t="$2" '$2 == t { print $3, $4 }' <<<"$out" | sort -n
}

# committed_total GROUP TOPIC: the sum of GROUP's committed offsets on
# TOPIC (a partition without a commit counts 0): how many messages it has
# acknowledged for good.
committed_total() {
  local offsets
  offsets=$(group_offsets "$1" "$2")
  awk '$2 != "-" { n += $2 } END { print n + 0 }' <<<"$offsets"
}

# pg_event_verify [--differs] ARGS...: event-verify (the third argument),
# `event-verify --brokers B --pg-dsn PG ARGS...`, must find the tables and
# the topic in agreement (exit 0); with --differs, in disagreement (exit 1).
# An account of the tables independent of the test's own checks.
pg_event_verify() {
  local want=0 what
  if [[ $1 == --differs ]]; then
    want=1
    shift
  fi
  run verify "$VERIFY" --brokers "$BROKERS" --pg-dsn "$PG" "$@"
  what="$(tail -n 1 "$IT_TMP/verify.out"); $(tail -n 2 "$IT_TMP/verify.err")"
  expect_eq "event-verify $* exit status ($what)" "$RC" "$want"
  log "event-verify: $(tail -n 1 "$IT_TMP/verify.out")"
}

# own_postgres DIR: starts a PostgreSQL of the test's own with
# scripts/postgres.sh (state in DIR, a free port) and makes it PG; the test
# must stop it (own_postgres_stop) in it_on_exit. As root the server runs as
# the system user postgres, which must be able to reach DIR: IT_TMP, made
# by mktemp (mode 700), is opened to it for traversal only.
own_postgres() {
  local env
  OWN_PG_HOME=$1
  mkdir -p "$OWN_PG_HOME"
  chmod o+x "$IT_TMP"
  env=$(POSTGRES_HOME_DIR=$OWN_PG_HOME POSTGRES_PORT=$(free_port) \
    "$PG_SH" start 2>"$IT_TMP/postgres-start.err") ||
    fail "postgres.sh start failed: $(tail -n 5 "$IT_TMP/postgres-start.err")"
  [[ $env == "export PG_DSN='"*"'" ]] ||
    fail "postgres.sh start printed '$env', not export PG_DSN='...'"
  PG=${env#export PG_DSN=\'}
  PG=${PG%\'}
  pg_answers "$PG" ||
    fail "the test's own PostgreSQL does not answer at $PG:" \
      "$(tail -n 1 "$IT_TMP/pg-answers.err")"
}

# own_pg ACTION: postgres.sh ACTION (stop, kill, resume, status) on the
# test's own server; fails the test when it fails (status: 0 running, 3 not).
own_pg() {
  local rc=0
  POSTGRES_HOME_DIR=$OWN_PG_HOME "$PG_SH" "$1" >"$IT_TMP/postgres-$1.out" \
    2>"$IT_TMP/postgres-$1.err" || rc=$?
  [[ $rc -eq 0 || ($1 == status && $rc -eq 3) ]] ||
    fail "postgres.sh $1 failed ($rc): $(tail -n 5 "$IT_TMP/postgres-$1.err")"
  return "$rc"
}

# For it_on_exit: the test's own server stopped, if it started one.
own_postgres_stop() {
  [[ -n ${OWN_PG_HOME:-} && -d $OWN_PG_HOME ]] || return 0
  POSTGRES_HOME_DIR=$OWN_PG_HOME "$PG_SH" stop >/dev/null 2>&1
}

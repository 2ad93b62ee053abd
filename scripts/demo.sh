#!/usr/bin/env bash
# The seed scenario, end to end: the consumer runs in the background, the
# producer publishes 10 valid events and 3 malformed payloads, and the
# consumer shows the valid events on stdout and the 3 errors on stderr.
#
#   scripts/demo.sh            on event-devbroker, an in-memory development broker
#   scripts/demo.sh --kafka    on a real Apache Kafka broker (scripts/kafka.sh; needs Java)
#   KAFKA_BOOTSTRAP_SERVERS=host:port scripts/demo.sh   on a broker you already run
#   scripts/demo.sh --pubsub   on the Google Cloud Pub/Sub emulator
#                              (scripts/pubsub-emulator.sh; needs the Cloud SDK's
#                              emulator and Java), project GCP_PROJECT_ID
#                              (default event-ingest-demo); both binaries run
#                              with --create, so the topic and subscription appear
#   PUBSUB_EMULATOR_HOST=host:port scripts/demo.sh --pubsub   on an emulator you already run
#   scripts/demo.sh --postgres [--kafka]
#                              the consumer writes to PostgreSQL too (--sink stdout
#                              --sink postgres), on a PostgreSQL 15 of its own
#                              (scripts/postgres.sh; state in <repo>/.postgres-demo,
#                              port POSTGRES_PORT, default 35432, leaving 5432 and
#                              the tests' and docker-compose's ports alone). After
#                              the seed scenario it publishes three events with an
#                              event_id, then a duplicate of the first, the second
#                              again with "is_valid": false, and a tombstone (kcat:
#                              its key, no value) for the third, and shows the table
#                              (psql) after each step: the seed's 10 valid events and
#                              3 events, then one row fewer, the duplicate merged and
#                              the second invalidated
#   PG_DSN='host=... dbname=...' scripts/demo.sh --postgres   on a server you already
#                              run, into table PG_TABLE (default log_events), which
#                              must not exist yet
#
# Only the consumer's valid events go to stdout (demo.sh 2>/dev/null shows
# just them; with --postgres, the tables too); progress, delivery lines and
# the consumer's log go to stderr. Everything the demo starts, it stops.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
bin=$repo_root/build/bin
say() { printf '\n== %s\n' "$*" >&2; }

use_kafka=false
use_pubsub=false
use_postgres=false
usage() {
  echo "usage: $0 [--kafka|--pubsub]" >&2
  echo "       $0 --postgres [--kafka]" >&2
  exit 64
}
for arg in "$@"; do
  case "$arg" in
    --kafka) use_kafka=true ;;
    --pubsub) use_pubsub=true ;;
    --postgres) use_postgres=true ;;
    *) usage ;;
  esac
done
# The postgres demo's tombstone is a Kafka message (a key with no value),
# which Pub/Sub has no counterpart of.
if $use_pubsub && { $use_kafka || $use_postgres; }; then usage; fi

if $use_kafka; then scripts/setup.sh --kafka; else scripts/setup.sh; fi
if $use_postgres; then scripts/setup.sh --postgres; fi
say "building"
scripts/build.sh build >&2

pids=()
started_kafka=false
started_emulator=false
started_postgres=false
tmp=$(mktemp -d)
# Flags both binaries get: the transport's, empty for Kafka.
transport=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $started_kafka; then scripts/kafka.sh stop || true; fi
  if $started_emulator; then scripts/pubsub-emulator.sh stop || true; fi
  if $started_postgres; then scripts/postgres.sh stop || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# True once something accepts TCP connections at $1 (host:port).
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

if $use_pubsub; then
  export GCP_PROJECT_ID=${GCP_PROJECT_ID:-event-ingest-demo}
  if [[ -n ${PUBSUB_EMULATOR_HOST:-} ]]; then
    say "using the Pub/Sub emulator at $PUBSUB_EMULATOR_HOST"
  else
    say "starting the Pub/Sub emulator (scripts/pubsub-emulator.sh)"
    started_emulator=true
    # It prints `export PUBSUB_EMULATOR_HOST=HOST:PORT`.
    emulator_env=$(scripts/pubsub-emulator.sh start)
    export PUBSUB_EMULATOR_HOST=${emulator_env#export PUBSUB_EMULATOR_HOST=}
  fi
  # --create on both: whichever starts first makes the topic and the
  # subscription, and the producer never publishes to a topic without one.
  transport=(--transport pubsub --create)
elif [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
  say "using the broker at $KAFKA_BOOTSTRAP_SERVERS"
elif $use_kafka; then
  say "starting Apache Kafka (scripts/kafka.sh)"
  started_kafka=true
  scripts/kafka.sh start
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
else
  listen=${DEVBROKER_LISTEN:-127.0.0.1:9092}
  if port_open "$listen"; then
    echo "demo.sh: something already listens on $listen: stop it, or set DEVBROKER_LISTEN or KAFKA_BOOTSTRAP_SERVERS" >&2
    exit 69
  fi
  say "starting event-devbroker on $listen (in-memory, development only)"
  "$bin/event-devbroker" -l "$listen" -t "${KAFKA_TOPIC:-log-events}" &
  devbroker=$!
  pids+=("$devbroker")
  for _ in $(seq 50); do
    kill -0 "$devbroker" 2>/dev/null || break
    port_open "$listen" && break
    sleep 0.1
  done
  if ! kill -0 "$devbroker" 2>/dev/null || ! port_open "$listen"; then
    echo "demo.sh: event-devbroker did not start on $listen" >&2
    exit 69
  fi
  export KAFKA_BOOTSTRAP_SERVERS=$listen
fi

# --postgres: PostgreSQL 15 (scripts/postgres.sh, on a state directory
# and port of the demo's own) or the server at PG_DSN; sets PG_DSN, table
# and psql.
start_postgres() {
  local pg_env
  table=${PG_TABLE:-log_events}
  [[ $table =~ ^[a-z_][a-z0-9_]{0,39}$ ]] ||
    { echo "demo.sh: PG_TABLE must match [a-z_][a-z0-9_]*, at most 40 bytes" >&2; exit 64; }
  psql=/usr/lib/postgresql/15/bin/psql
  [[ -x $psql ]] || psql=psql
  if [[ -n ${PG_DSN:-} ]]; then
    say "using the PostgreSQL server at PG_DSN ($PG_DSN)"
    # The demo's rows would mix with what a table already holds.
    if [[ -n $(sql -c "SELECT 1 WHERE to_regclass('$table') IS NOT NULL
                       OR to_regclass('${table}__tombstones') IS NOT NULL") ]]; then
      echo "demo.sh: table $table (or ${table}__tombstones) already exists at PG_DSN: set PG_TABLE to a new name" >&2
      exit 69
    fi
    return 0
  fi
  export POSTGRES_HOME_DIR=${POSTGRES_HOME_DIR:-$repo_root/.postgres-demo}
  export POSTGRES_PORT=${POSTGRES_PORT:-35432}
  # One an earlier demo left running (killed before its cleanup) holds
  # that run's rows: start afresh.
  if scripts/postgres.sh status >/dev/null; then
    say "stopping the PostgreSQL an earlier demo left in $POSTGRES_HOME_DIR"
    scripts/postgres.sh stop
  fi
  say "starting PostgreSQL 15 on 127.0.0.1:$POSTGRES_PORT (scripts/postgres.sh)"
  # It prints `export PG_DSN='host=... user=...'`; a start that fails
  # leaves nothing running.
  pg_env=$(scripts/postgres.sh start)
  started_postgres=true
  PG_DSN=${pg_env#export PG_DSN=\'}
  PG_DSN=${PG_DSN%\'}
}

# sql PSQL-ARGS...: psql on PG_DSN, unaligned and quiet, for the demo's checks.
sql() { "$psql" -X -q -At -v ON_ERROR_STOP=1 -d "$PG_DSN" "$@"; }

# show_table TITLE: the table, as a user would look at it, on stdout.
show_table() {
  say "$1"
  "$psql" -X -q -P pager=off -v ON_ERROR_STOP=1 -d "$PG_DSN" -c "
    SELECT event_id, is_valid, event_time, payload->>'message' AS message
      FROM $table ORDER BY event_time, event_id"
}

# wait_rows N: until the table holds N rows, or the consumer is gone, or
# 30 s have passed.
wait_rows() {
  local n
  for _ in $(seq 300); do
    n=$(sql -c "SELECT count(*) FROM $table" 2>/dev/null || echo 0)
    [[ $n != "$1" ]] || return 0
    kill -0 "$consumer" 2>/dev/null || break
    sleep 0.1
  done
  echo "demo.sh: $table holds ${n:-no} rows, not $1" >&2
  exit 1
}

# order_event N [MORE-MEMBERS]: an event with event_id order-N, at $when.
order_event() {
  printf '{"event_id":"order-%s","timestamp":"%s","service_name":"order-service","level":"INFO","message":"Order %s placed"%s}\n' \
    "$1" "$when" "$1" "${2:-}"
}

# The sink's rules, after the seed scenario: rows are keyed by event_id (the
# event's own, else topic/partition/offset), an event sent again replaces
# its row, is_valid comes from the event, and a tombstone (a Kafka message
# with the event_id as its key and no value) deletes the row. Each step waits
# for the previous one's rows, so the consumer sees them in this order
# whatever partitions they land on.
postgres_rules() {
  local rules=$tmp/rules
  when=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  {
    order_event 1001
    order_event 1002
    order_event 1003
  } >"$rules.1"
  say "producer: three events with an event_id (event-producer --input)"
  cat "$rules.1" >&2
  "$bin/event-producer" --input "$rules.1" >&2
  wait_rows $((count + 3))
  show_table "$table: the seed's $count valid events and the three (the $malformed malformed payloads are not there)"

  {
    order_event 1001
    order_event 1002 ',"is_valid":false'
  } >"$rules.2"
  say "producer: order-1001 again (a duplicate), order-1002 with is_valid false"
  cat "$rules.2" >&2
  "$bin/event-producer" --input "$rules.2" >&2
  say "kcat: a tombstone for order-1003 (key order-1003, no value)"
  printf 'order-1003|\n' |
    kcat -P -b "$KAFKA_BOOTSTRAP_SERVERS" -t "${KAFKA_TOPIC:-log-events}" -K '|' -Z
}

count=${EVENT_COUNT:-10}
malformed=${MALFORMED_COUNT:-3}
# The messages the consumer waits for: the seed scenario, and with
# --postgres the three events, the duplicate, the invalidation and the
# tombstone.
expected=$((count + malformed))
sink=()
if $use_postgres; then
  start_postgres
  expected=$((expected + 6))
  sink=(--sink stdout --sink postgres --pg-dsn "$PG_DSN" --pg-table "$table")
fi

say "consumer (background): valid events on stdout, errors on stderr"
# --idle-exit bounds the demo if fewer messages than expected arrive.
"$bin/event-consumer" "${transport[@]}" "${sink[@]}" --max-messages "$expected" \
  --idle-exit 20 &
consumer=$!
pids+=("$consumer")

say "producer (foreground): $count valid events, $malformed malformed payloads"
"$bin/event-producer" "${transport[@]}" --count "$count" \
  --malformed "$malformed" >&2

if $use_postgres; then postgres_rules; fi

status=0
wait "$consumer" || status=$?
pids=("${pids[@]/$consumer/}")
if $use_postgres && ((status == 0)); then
  show_table "$table: order-1001 once, order-1002 invalidated, order-1003 deleted"
  say "${table}__tombstones: the keys deleted, kept so that an older copy of the event cannot bring its row back"
  "$psql" -X -q -P pager=off -d "$PG_DSN" -c \
    "SELECT event_id, source_topic, received_time FROM ${table}__tombstones"
fi
say "done: consumer exited $status"
exit "$status"

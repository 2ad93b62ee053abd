#!/usr/bin/env bash
# The command-line contract of both binaries: --help and --version, and the
# sysexits(3) codes for bad input, each with one stderr line naming the
# culprit. Needs no broker: every case stops before connecting (and the
# brokers point at a closed port in case one did not).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1

# Every environment variable each binary reads (common/config.c).
readonly COMMON_ENV=(TRANSPORT KAFKA_BOOTSTRAP_SERVERS KAFKA_TOPIC LOG_LEVEL
  GCP_PROJECT_ID GCP_PUBSUB_TOPIC GCP_PUBSUB_SUBSCRIPTION CREDENTIALS_PATH
  PUBSUB_EMULATOR_HOST PUBSUB_ENDPOINT PUBSUB_CREATE PUBSUB_ORDERING
  PUBSUB_TIMEOUT PUBSUB_ACK_DEADLINE)
readonly PRODUCER_ENV=(EVENT_COUNT MALFORMED_COUNT PUBLISH_RATE INPUT_FILE
  FLUSH_TIMEOUT)
readonly CONSUMER_ENV=(KAFKA_GROUP_ID MAX_PAYLOAD_BYTES VALIDATE_SCHEMA
  MAX_MESSAGES IDLE_EXIT_SECONDS PUBSUB_MAX_MESSAGES PUBSUB_PULLS)
readonly ENV_EXAMPLE=$IT_DIR/../../.env.example

for role in producer consumer; do
  if [[ $role == producer ]]; then
    bin=$PRODUCER
    own=("${PRODUCER_ENV[@]}")
    other=("${CONSUMER_ENV[@]}")
  else
    bin=$CONSUMER
    own=("${CONSUMER_ENV[@]}")
    other=("${PRODUCER_ENV[@]}")
  fi

  run help "$bin" --help
  expect_eq "$role --help exit status" "$RC" 0
  [[ ! -s $IT_TMP/help.err ]] || fail "$role --help wrote to stderr"
  grep -q "^Usage: event-$role " "$IT_TMP/help.out" ||
    fail "$role --help does not start with its usage line"
  for var in "${COMMON_ENV[@]}" "${own[@]}"; do
    grep -qw -- "$var" "$IT_TMP/help.out" ||
      fail "$role --help does not mention $var"
  done
  for var in "${other[@]}"; do
    if grep -qw -- "$var" "$IT_TMP/help.out"; then
      fail "$role --help mentions $var, which only the other binary reads"
    fi
  done
  # .env.example is the operator's list: every variable --help names is
  # in it (set, or commented out when it has no default).
  for var in $(grep -oE '^ +\[[A-Z_]+' "$IT_TMP/help.out" | tr -d ' ['); do
    grep -qE "^#? ?$var=" "$ENV_EXAMPLE" ||
      fail ".env.example does not list $var, which $role --help names"
  done
  run help-short "$bin" -h
  cmp -s "$IT_TMP/help.out" "$IT_TMP/help-short.out" ||
    fail "$role -h and --help differ"

  run version "$bin" --version
  expect_eq "$role --version exit status" "$RC" 0
  n=$(count_lines "$IT_TMP/version.out")
  expect_eq "$role --version lines" "$n" 1
  grep -qE "^event-$role [0-9]+\.[0-9]+\.[0-9]+ \(librdkafka [0-9.]+" \
    "$IT_TMP/version.out" ||
    fail "$role --version: unexpected output: $(cat "$IT_TMP/version.out")"

  expect_error 64 "-t/--topic" "$bin" -t ''
  expect_error 64 "--no-such-option" "$bin" --no-such-option
  expect_error 64 "'stray'" "$bin" stray
  expect_error 64 "-X" "$bin" -X novalue
  expect_error 64 "--log-level" "$bin" --log-level loud
  expect_error 78 "no.such.property" "$bin" -X no.such.property=1
  # A secret's value never reaches an error line, even a rejected one.
  expect_error 78 "sasl.password.typo=[redacted]" "$bin" \
    -X sasl.password.typo=hunter2
  ! grep -q hunter2 "$IT_TMP/err.err" ||
    fail "$role printed the value of -X sasl.password.typo"
done

expect_error 64 "--count" "$PRODUCER" --count abc
expect_error 64 "--count" "$PRODUCER" --count -1
expect_error 64 "--rate" "$PRODUCER" --rate fast
expect_error 64 "EVENT_COUNT" env EVENT_COUNT=abc "$PRODUCER"
expect_error 74 "/nonexistent/events.txt" "$PRODUCER" --input /nonexistent/events.txt
expect_error 64 "--max-messages" "$CONSUMER" --max-messages abc
expect_error 64 "--idle-exit" "$CONSUMER" --idle-exit -1
expect_error 64 "--max-payload-bytes" "$CONSUMER" --max-payload-bytes 0
expect_error 64 "VALIDATE_SCHEMA" env VALIDATE_SCHEMA=maybe "$CONSUMER"
# The offset store is what makes "acknowledge after output" work.
expect_error 78 "enable.auto.offset.store" "$CONSUMER" \
  -X enable.auto.offset.store=true
expect_error 64 "--dlq-timeout" "$CONSUMER" --dlq-timeout soon
# A dead-letter topic that is the topic consumed would loop forever.
expect_error 64 "--dlq-topic is the topic consumed" "$CONSUMER" \
  -t events --dlq-topic events
expect_error 64 "--dlq-topic is the topic consumed" "$CONSUMER" \
  --transport pubsub --project p-12345 --pubsub-topic events --dlq-topic events
expect_error 64 "--dlq-topic is the topic consumed (or matches its pattern)" \
  "$CONSUMER" -t '^log-.*' --dlq-topic log-events.dlq
# The dead-letter guarantee's producer settings are not the user's to lower.
expect_error 78 "-X acks: set by event-ingest itself" "$CONSUMER" \
  --dlq-topic events.dlq -X acks=1
# The sinks' settings.
expect_error 64 "--sink" "$CONSUMER" --sink file
expect_error 64 "SINKS" env SINKS=stdout,,postgres "$CONSUMER"
expect_error 64 "--sink-timeout" "$CONSUMER" --sink-timeout later
expect_error 64 "--pg-table" "$CONSUMER" --sink postgres --pg-table 'Log"Events'
expect_error 64 "PG_TABLE" env PG_TABLE=public.events "$CONSUMER"
# Nothing listens on port 1: the database is down at startup.
expect_error 69 "postgres sink: connecting to PostgreSQL" "$CONSUMER" \
  --sink postgres --pg-dsn 'host=127.0.0.1 port=1 connect_timeout=5'
log "ok: help, version and every usage error behave"

#!/usr/bin/env bash
# event-gateway's command-line contract, as cli.sh checks the producer's
# and the consumer's: --help names every variable it reads (each listed in
# .env.example) and none that only another binary reads; --version names
# the libraries; a bad setting exits with its sysexits(3) code and one
# stderr line naming the culprit; an API key file's bad line is named by
# its number, never by its key. Needs no broker: every case stops before
# it would publish (the brokers point at a closed port in case one did
# not).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1
readonly ENV_EXAMPLE=$IT_DIR/../../.env.example

readonly OWN_ENV=(GATEWAY_LISTEN MAX_BODY_BYTES API_KEYS_FILE PUBLISH_TIMEOUT
  GATEWAY_MAX_CONNECTIONS FLUSH_TIMEOUT TRANSPORT KAFKA_BOOTSTRAP_SERVERS
  KAFKA_TOPIC LOG_LEVEL LOG_FORMAT GCP_PROJECT_ID GCP_PUBSUB_TOPIC
  CREDENTIALS_PATH PUBSUB_EMULATOR_HOST PUBSUB_ENDPOINT PUBSUB_CREATE
  PUBSUB_TIMEOUT)
readonly OTHER_ENV=(KAFKA_GROUP_ID EVENT_COUNT INPUT_FILE SINKS REDACT
  METRICS_ADDR MAX_PAYLOAD_BYTES FIRESTORE_EMULATOR_HOST PG_DSN)

run help "$GATEWAY" --help
expect_eq "--help exit status" "$RC" 0
[[ ! -s $IT_TMP/help.err ]] || fail "--help wrote to stderr"
grep -q "^Usage: event-gateway " "$IT_TMP/help.out" ||
  fail "--help does not start with its usage line"
for var in "${OWN_ENV[@]}"; do
  grep -qw -- "$var" "$IT_TMP/help.out" || fail "--help does not mention $var"
done
for var in "${OTHER_ENV[@]}"; do
  ! grep -qw -- "$var" "$IT_TMP/help.out" ||
    fail "--help mentions $var, which only another binary reads"
done
for var in $(grep -oE '^ +\[[A-Z_]+' "$IT_TMP/help.out" | tr -d ' ['); do
  grep -qE "^#? ?$var=" "$ENV_EXAMPLE" ||
    fail ".env.example does not list $var, which event-gateway --help names"
done

run version "$GATEWAY" --version
expect_eq "--version exit status" "$RC" 0
grep -qE '^event-gateway [0-9]+\.[0-9]+\.[0-9]+ \(librdkafka [0-9.]+.*libmicrohttpd [0-9.]+\)$' \
  "$IT_TMP/version.out" ||
  fail "--version: unexpected output: $(cat "$IT_TMP/version.out")"

expect_error 64 "-l/--listen" "$GATEWAY" --listen ''
expect_error 64 "GATEWAY_LISTEN" env GATEWAY_LISTEN= "$GATEWAY"
expect_error 64 "--max-body-bytes" "$GATEWAY" --max-body-bytes 0
expect_error 64 "--max-connections" "$GATEWAY" --max-connections none
expect_error 64 "--publish-timeout" "$GATEWAY" --publish-timeout 0
expect_error 64 "'stray'" "$GATEWAY" stray
expect_error 64 "'--group'" "$GATEWAY" --group g
expect_error 64 "GCP_PROJECT_ID" "$GATEWAY" --transport pubsub
expect_error 78 "no.such.property" "$GATEWAY" -X no.such.property=1
# What makes a 202 mean "the broker has it" is not the user's to lower.
expect_error 78 "-X acks: set by event-ingest itself" "$GATEWAY" -X acks=1
expect_error 78 "message.timeout.ms" "$GATEWAY" -X message.timeout.ms=1

# API key files: the line, never the key.
keys=$IT_TMP/keys
printf '# keys\nk3y-good-0001 acme\nhunter2-secret-key bad/tenant\n' >"$keys"
expect_error 78 "line 3" "$GATEWAY" --api-keys "$keys"
! grep -q hunter2 "$IT_TMP/err.err" || fail "a bad line's key was printed"
printf 'k3y-twice-0001 acme\nk3y-twice-0001 beta\n' >"$keys"
expect_error 78 "line 2" "$GATEWAY" --api-keys "$keys"
! grep -q k3y-twice "$IT_TMP/err.err" || fail "a repeated key was printed"
printf '# nothing but comments\n\n' >"$keys"
expect_error 78 "API_KEYS_FILE" "$GATEWAY" --api-keys "$keys"
expect_error 78 "$IT_TMP/missing" "$GATEWAY" --api-keys "$IT_TMP/missing"
log "ok: help, version and every usage error behave"

#!/usr/bin/env bash
# Issue 11, integration test 1: both content types end to end, through
# event-gateway -> Pub/Sub (the emulator) -> event-consumer --sink firestore
# --redact phone,email -> Firestore (the emulator), and once more over
# Kafka.
#
# Each request answers 202 with exactly {"status": "accepted", "tenant_id",
# "log_id" (the given one, or a UUID v4), "message_id"} and becomes the
# document tenants/{tenant}/processed_logs/{log_id} holding:
#   - source json_upload or text_upload;
#   - original_text, the text as sent, and modified_data, the same with each
#     phone number and e-mail address made [REDACTED]; no "message" field;
#   - processed_at, a timestamp; the event's timestamp (the gateway's time
#     of receipt, or the request's own), service_name (event-gateway, or the
#     request's), level (INFO, or the request's), tenant_id and log_id;
#   - the other fields of a JSON body, typed as sent (string values
#     redacted too); no "text" field (JSON text becomes the message);
#   - source_location: the subscription and the very message id the 202
#     gave (Pub/Sub), or the topic/partition/offset it gave (Kafka).
# The project then holds exactly these documents and nothing else, the
# consumer read each message once and acknowledged all, and the gateway
# stops cleanly on SIGTERM.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
require_broker
gateway_init

accepted=$IT_TMP/accepted.txt
: >"$accepted"
# Doc checks to run once the consumer has written them: one line each,
# "LOG_ID MESSAGE_ID EXPECTED-JSON".
checks=$IT_TMP/checks.txt
: >"$checks"

# json TEXT: TEXT as a JSON string.
json() {
  python3 -c 'import json, sys; print(json.dumps(sys.argv[1], ensure_ascii=False))' "$1"
}

# accept NAME LOG_ID MESSAGE_ID_RE EXPECTED-JSON: the last request NAME was
# accepted (expect_accepted; LOG_ID "" for a generated one); its document is
# to hold EXPECTED-JSON (made one line here).
accept() {
  local expected
  expect_accepted "$1" "$tenant" "$2" "$3"
  expected=$(python3 -c 'import json, sys
print(json.dumps(json.loads(sys.argv[1]), ensure_ascii=False))' "$4") ||
    fail "$1: the test's expectation is not JSON: $4"
  echo "$tenant $LOG_ID" >>"$accepted"
  echo "$LOG_ID $MESSAGE_ID $expected" >>"$checks"
}

# The texts: every phone-number form the issue names, e-mail addresses,
# and non-ASCII, quotes, a tab.
t1='Call me at (555) 123-4567 or +1 555 123 4567, mail jane.doe@example.com. été ✓ "quoted"'
r1='Call me at [REDACTED] or [REDACTED], mail [REDACTED]. été ✓ "quoted"'
t2=$'Text upload: ring 555-0199 or +442079460958;\tbob@example.org'
r2=$'Text upload: ring [REDACTED] or [REDACTED];\t[REDACTED]'
t3='plain text, no personal data, ünïcödé'
t4='card declined for jane@example.com'
r4='card declined for [REDACTED]'

# send MID_RE: the six requests, each checked as it is answered.
send() {
  local mid_re=$1
  post_json json1 "{\"tenant_id\": \"$tenant\", \"log_id\": \"json-1\", \"text\": $(json "$t1")}"
  accept json1 json-1 "$mid_re" "{\"source\": \"json_upload\",
    \"original_text\": $(json "$t1"), \"modified_data\": $(json "$r1"),
    \"service_name\": \"event-gateway\", \"level\": \"INFO\", \"text\": null}"

  post_text text1 "$t2" -H "X-Tenant-ID: $tenant"
  accept text1 "" "$mid_re" "{\"source\": \"text_upload\",
    \"original_text\": $(json "$t2"), \"modified_data\": $(json "$r2"),
    \"service_name\": \"event-gateway\", \"level\": \"INFO\"}"

  # X-Log-ID names a text's log id.
  post text2 /ingest -H 'Content-Type: text/plain; charset=utf-8' \
    -H "X-Tenant-ID: $tenant" -H 'X-Log-ID: text-2' --data-binary "$t3"
  accept text2 text-2 "$mid_re" "{\"source\": \"text_upload\",
    \"original_text\": $(json "$t3"), \"modified_data\": $(json "$t3")}"

  # The request's own service_name and level, and a field of its own.
  post json2 /ingest -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary "{\"tenant_id\": \"$tenant\", \"log_id\": \"json-2.a:b_c\",
      \"text\": \"checkout failed\", \"service_name\": \"checkout\",
      \"level\": \"WARN\", \"region\": \"eu-west-1\"}"
  accept json2 json-2.a:b_c "$mid_re" "{\"source\": \"json_upload\",
    \"original_text\": \"checkout failed\", \"modified_data\": \"checkout failed\",
    \"service_name\": \"checkout\", \"level\": \"WARN\", \"region\": \"eu-west-1\"}"

  # A full event keeps its fields, typed, string values redacted.
  post_json full1 "{\"timestamp\": \"2026-11-22T10:15:00.123Z\",
    \"service_name\": \"billing\", \"level\": \"ERROR\", \"message\": $(json "$t4"),
    \"tenant_id\": \"$tenant\", \"log_id\": \"full-1\", \"user_id\": 42,
    \"amount\": 12.5, \"ok\": false, \"tags\": [\"a\", \"b\"],
    \"contact\": \"ops 555-0199\"}"
  accept full1 full-1 "$mid_re" "{\"source\": \"json_upload\",
    \"timestamp\": \"2026-11-22T10:15:00.123Z\", \"service_name\": \"billing\",
    \"level\": \"ERROR\", \"original_text\": $(json "$t4"),
    \"modified_data\": $(json "$r4"), \"user_id\": 42, \"amount\": 12.5,
    \"ok\": false, \"tags\": [\"a\", \"b\"], \"contact\": \"ops [REDACTED]\"}"

  # No log_id: a UUID.
  post_json json3 "{\"tenant_id\": \"$tenant\", \"text\": \"no id given\"}"
  accept json3 "" "$mid_re" "{\"source\": \"json_upload\",
    \"original_text\": \"no id given\", \"modified_data\": \"no id given\"}"
}

# check_docs FIRST TRANSPORT WHERE: the documents of the check lines from
# line FIRST on.
check_docs() {
  local log_id mid expected
  while read -r log_id mid expected; do
    expect_doc "$tenant" "$log_id" "$mid" "$2" "$3" "$expected"
  done < <(tail -n "+$1" "$checks")
}

# --- Pub/Sub ------------------------------------------------------------
tenant=$(unique_name acme)
topic=$(unique_name topic)
sub=$(unique_name sub)
pubsub_pair "$topic" "$sub" 30
gateway_start gw-pubsub "${PUBSUB[@]}" --pubsub-topic "$topic"
send '[0-9A-Za-z]+'
stop_process "$GW_PID" "event-gateway (Pub/Sub)"
n=$(count_lines "$accepted")
consume_all consumer-pubsub "${PUBSUB[@]}" --subscription "$sub" "${SINK[@]}"
expect_summary "$IT_TMP/consumer-pubsub.err" "consumed=$n" "valid=$n" toxic=0
check_docs 1 pubsub "$sub"
log "Pub/Sub: $n requests, $n documents as expected"

# --- Kafka: the same requests for another tenant ----------------------
tenant=$(unique_name globex)
ktopic=$(unique_name ktopic)
group=$(unique_name group)
gateway_start gw-kafka -b "$BROKERS" -t "$ktopic"
send "$ktopic/[0-9]+/[0-9]+"
stop_process "$GW_PID" "event-gateway (Kafka)"
consume_all consumer-kafka -b "$BROKERS" -t "$ktopic" -g "$group" \
  --project "$PROJECT" "${SINK[@]}"
expect_summary "$IT_TMP/consumer-kafka.err" "consumed=$n" "valid=$n" toxic=0
check_docs $((n + 1)) kafka "$ktopic"

fs_expect "$accepted"
log "ok: $((2 * n)) requests over Pub/Sub and Kafka, each exactly one" \
  "document as the contract says, redacted, nothing else in $PROJECT"

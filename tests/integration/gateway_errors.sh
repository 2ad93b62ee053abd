#!/usr/bin/env bash
# Issue 11, integration test 2: every error status of event-gateway, each
# with Content-Type application/json and a body that is exactly
# {"error": WORD, "detail": TEXT}, WORD as given below:
#   400  malformed JSON (invalid_json), JSON that is not an object
#        (not_an_object), no tenant (missing_tenant: JSON, or text/plain
#        without X-Tenant-ID), a tenant id that is not [A-Za-z0-9_-]{1,64}
#        (invalid_tenant: a slash, a blank, 65 characters, empty, not a
#        string), tenant_id and X-Tenant-ID that differ (tenant_mismatch), a
#        log_id that is not a safe document id (invalid_log_id:
#        [A-Za-z0-9_.:-]{1,128}, not "." or "..", not __.*__), no usable
#        text (invalid_text: none, not a string, empty, text and message
#        both, a text/plain body empty or not UTF-8), a level or timestamp
#        the consumer would refuse (invalid_event);
#   404  a path that is not /ingest (nor /healthz, /readyz, /metrics):
#        not_found;
#   405  GET and PUT on /ingest: method_not_allowed;
#   413  a body over --max-body-bytes, with a Content-Length or chunked:
#        payload_too_large;
#   415  any other content type, or none: unsupported_media_type;
#   503  publish_failed, with Retry-After (whole seconds), when the broker
#        does not confirm within --publish-timeout: a gateway whose Pub/Sub
#        emulator goes away (and which accepts again once it is back), and
#        one on a Kafka port where no broker listens.
# Meanwhile the gateway accepts the good requests (a tenant id and a log id
# of the longest lengths allowed, one after all the errors), and what
# reached the topic (read by event-consumer) is those two events alone: no
# rejected request was published.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
pubsub_init

readonly MAX_BODY=1024
topic=$(unique_name topic)
sub=$(unique_name sub)
pubsub_pair "$topic" "$sub" 30
gateway_start gw "${PUBSUB[@]}" --pubsub-topic "$topic" \
  --max-body-bytes "$MAX_BODY"
tenant=$(unique_name t)

# rejects CODE WORD NAME CURL-ARGS...: that request (post) answers CODE
# with an error body saying WORD.
n_cases=0
rejects() {
  local code=$1 word=$2 name=$3
  shift 3
  post "$name" "$@"
  expect_error_body "$name" "$code" "$word"
  n_cases=$((n_cases + 1))
}
# rejects_json CODE WORD NAME BODY [CURL-ARG...] and
# rejects_text CODE WORD NAME BODY [CURL-ARG...]
rejects_json() {
  rejects "$1" "$2" "$3" /ingest -H 'Content-Type: application/json' \
    --data-binary "$4" "${@:5}"
}
rejects_text() {
  rejects "$1" "$2" "$3" /ingest -H 'Content-Type: text/plain' \
    --data-binary "$4" "${@:5}"
}
t65=$(printf 't%.0s' {1..65})

# --- 400 ----------------------------------------------------------------
rejects_json 400 invalid_json bad-json "{\"tenant_id\": \"$tenant\", \"text\": "
rejects_json 400 invalid_json bad-json-trailing \
  "{\"tenant_id\": \"$tenant\", \"text\": \"x\"} x"
rejects_json 400 invalid_json empty-json ''
rejects_json 400 not_an_object not-object "[\"$tenant\", \"x\"]"
rejects_json 400 not_an_object string-body '"just a string"'
rejects_json 400 missing_tenant no-tenant '{"text": "who am I"}'
rejects_json 400 invalid_tenant tenant-slash '{"tenant_id": "a/b", "text": "x"}'
rejects_json 400 invalid_tenant tenant-blank '{"tenant_id": "a b", "text": "x"}'
rejects_json 400 invalid_tenant tenant-empty '{"tenant_id": "", "text": "x"}'
rejects_json 400 invalid_tenant tenant-number '{"tenant_id": 42, "text": "x"}'
rejects_json 400 invalid_tenant tenant-long "{\"tenant_id\": \"$t65\", \"text\": \"x\"}"
rejects_json 400 tenant_mismatch tenant-mismatch \
  "{\"tenant_id\": \"$tenant\", \"text\": \"x\"}" -H 'X-Tenant-ID: other'
for bad in 'a/b' '.' '..' '__x__' '' 'a b' 'é' "$(printf 'l%.0s' {1..129})"; do
  rejects_json 400 invalid_log_id log-id \
    "{\"tenant_id\": \"$tenant\", \"log_id\": \"$bad\", \"text\": \"x\"}"
done
rejects_json 400 invalid_log_id log-id-number \
  "{\"tenant_id\": \"$tenant\", \"log_id\": 7, \"text\": \"x\"}"
rejects_text 400 invalid_log_id log-id-header 'x' -H "X-Tenant-ID: $tenant" \
  -H 'X-Log-ID: a/b'
rejects_json 400 invalid_log_id log-id-mismatch \
  "{\"tenant_id\": \"$tenant\", \"log_id\": \"l-1\", \"text\": \"x\"}" \
  -H 'X-Log-ID: l-2'
rejects_json 400 invalid_text no-text "{\"tenant_id\": \"$tenant\"}"
rejects_json 400 invalid_text text-number "{\"tenant_id\": \"$tenant\", \"text\": 5}"
rejects_json 400 invalid_text text-empty "{\"tenant_id\": \"$tenant\", \"text\": \"\"}"
rejects_json 400 invalid_text text-and-message \
  "{\"tenant_id\": \"$tenant\", \"text\": \"a\", \"message\": \"b\"}"
rejects_json 400 invalid_event bad-level \
  "{\"tenant_id\": \"$tenant\", \"text\": \"x\", \"level\": \"LOUD\"}"
rejects_json 400 invalid_event bad-timestamp \
  "{\"tenant_id\": \"$tenant\", \"text\": \"x\", \"timestamp\": \"yesterday\"}"
rejects_text 400 missing_tenant text-no-tenant 'hello'
rejects_text 400 invalid_tenant text-bad-tenant 'hello' -H 'X-Tenant-ID: a/b'
rejects_text 400 invalid_tenant text-long-tenant 'hello' -H "X-Tenant-ID: $t65"
rejects_text 400 invalid_text text-empty-body '' -H "X-Tenant-ID: $tenant"
rejects_text 400 invalid_text text-not-utf8 $'caf\xe9' -H "X-Tenant-ID: $tenant"
# The limits just inside are fine: 64 and 128 characters.
post_json ok-long "{\"tenant_id\": \"$(printf 't%.0s' {1..64})\",
  \"log_id\": \"$(printf 'l%.0s' {1..128})\", \"text\": \"x\"}"
expect_status ok-long 202
log "400: $n_cases requests"

# --- 404, 405 -------------------------------------------------------------
rejects 404 not_found not-found /nope -H 'Content-Type: application/json' \
  --data-binary "{\"tenant_id\": \"$tenant\", \"text\": \"x\"}"
rejects 404 not_found not-found-get /ingest/more
rejects 405 method_not_allowed get-ingest /ingest
rejects 405 method_not_allowed put-ingest /ingest -X PUT \
  -H 'Content-Type: application/json' \
  --data-binary "{\"tenant_id\": \"$tenant\", \"text\": \"x\"}"

# --- 413 ------------------------------------------------------------------
big=$(python3 -c "print('{\"tenant_id\": \"$tenant\", \"text\": \"' + 'x' * $MAX_BODY + '\"}')")
rejects_json 413 payload_too_large too-large "$big"
# Chunked, no length declared: the gateway drops the body once it passes
# the limit, reads the rest (up to 64 MiB more) and answers 413 at its end.
post_json too-large-chunked "$big" -H 'Transfer-Encoding: chunked'
expect_error_body too-large-chunked 413 payload_too_large
rejects_text 413 payload_too_large too-large-text \
  "$(printf 'y%.0s' $(seq $((MAX_BODY + 1))))" -H "X-Tenant-ID: $tenant"

# --- 415 ------------------------------------------------------------------
rejects 415 unsupported_media_type xml /ingest \
  -H 'Content-Type: application/xml' --data-binary "<log tenant=\"$tenant\">x</log>"
rejects 415 unsupported_media_type form /ingest \
  -H 'Content-Type: application/x-www-form-urlencoded' \
  --data-binary "tenant_id=$tenant&text=x"
rejects 415 unsupported_media_type no-type /ingest -H 'Content-Type:' \
  -H "X-Tenant-ID: $tenant" --data-binary 'x'

# A good request, after all that: accepted.
post_json good "{\"tenant_id\": \"$tenant\", \"log_id\": \"good-1\", \"text\": \"fine\"}"
expect_accepted good "$tenant" good-1 '[0-9A-Za-z]+'
stop_process "$GW_PID" "event-gateway"

# What the topic got: the two accepted events alone.
run consumer "$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --idle-exit 5
expect_eq "consumer exit status" "$RC" 0
expect_summary "$IT_TMP/consumer.err" consumed=2 valid=2 toxic=0
python3 - "$IT_TMP/consumer.out" "$tenant" <<'EOF' ||
import json, sys
path, tenant = sys.argv[1:3]
with open(path) as f:
    got = sorted((e["tenant_id"], e["log_id"], e["message"])
                 for e in map(json.loads, f))
want = sorted([("t" * 64, "l" * 128, "x"), (tenant, "good-1", "fine")])
if got != want:
    sys.exit("the topic holds %r" % got)
EOF
  fail "the topic does not hold just the two accepted events (see above)"

# --- 503 ------------------------------------------------------------------
# Pub/Sub: the gateway reaches the emulator through a relay
# (pubsub/tcp_proxy.py) that goes away after the first request: the broker
# is then unreachable, and back once the relay is started again on its port.
relay_port=$(free_port)
start_relay "$relay_port"
gateway_start gw-pubsub-down --transport pubsub \
  --emulator-host "127.0.0.1:$relay_port" --project "$PROJECT" \
  --pubsub-topic "$topic" --publish-timeout 2 --request-timeout 1
post_json before-pubsub "{\"tenant_id\": \"$tenant\", \"text\": \"x\"}"
expect_status before-pubsub 202
kill -TERM "$relay"
reap "$relay" || true
post_json down-pubsub "{\"tenant_id\": \"$tenant\", \"text\": \"x\"}"
expect_error_body down-pubsub 503 publish_failed
retry=$(header down-pubsub Retry-After)
[[ $retry =~ ^[1-9][0-9]*$ ]] || fail "503 (Pub/Sub down): Retry-After is '$retry'"
post_text down-pubsub-text 'x' -H "X-Tenant-ID: $tenant"
expect_error_body down-pubsub-text 503 publish_failed
start_relay "$relay_port"
post_json after-pubsub "{\"tenant_id\": \"$tenant\", \"text\": \"x\"}"
expect_status after-pubsub 202
stop_process "$GW_PID" "event-gateway (Pub/Sub down)"

# Kafka: a gateway on a port where no broker ever was.
closed=$(free_port)
gateway_start gw-kafka-down -b "127.0.0.1:$closed" -t "$topic" \
  --publish-timeout 1
post_json down-kafka "{\"tenant_id\": \"$tenant\", \"text\": \"x\"}"
expect_error_body down-kafka 503 publish_failed
retry=$(header down-kafka Retry-After)
[[ $retry =~ ^[1-9][0-9]*$ ]] || fail "503 (Kafka down): Retry-After is '$retry'"
stop_process "$GW_PID" "event-gateway (Kafka down)"

log "ok: $n_cases 400/404/405/413/415 answers and 503 with Retry-After" \
  "(Pub/Sub and Kafka down), all {error, detail}; nothing rejected was" \
  "published"

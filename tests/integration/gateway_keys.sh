#!/usr/bin/env bash
# Issue 11, integration test 3: tenant isolation with --api-keys FILE
# (lines "KEY TENANT_ID"). With it, event-gateway answers
#   401  without Authorization, with a key it does not know, with another
#        scheme than Bearer, with an empty Bearer;
#   403  to a known key writing another tenant (JSON or text/plain);
#   202  to a key writing its own tenant, or no tenant (the key's, then);
# each error with the {"error", "detail"} body. End to end (Pub/Sub ->
# event-consumer --sink firestore -> Firestore), each tenant then holds
# exactly the documents its own key was accepted for. No key, known or
# not, appears in anything the gateway wrote (its stdout and stderr, at
# --log-level debug) nor in its /metrics.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
gateway_init

a=$(unique_name tenant-a)
b=$(unique_name tenant-b)
# Keys that nothing else in the test's output could hold by chance.
key_a=ka-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
key_b=kb-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
wrong=kw-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
keys=$IT_TMP/api-keys
printf '%s %s\n%s %s\n' "$key_a" "$a" "$key_b" "$b" >"$keys"
chmod 0600 "$keys"

topic=$(unique_name topic)
sub=$(unique_name sub)
pubsub_pair "$topic" "$sub" 30
gateway_start gw "${PUBSUB[@]}" --pubsub-topic "$topic" --api-keys "$keys" \
  --log-level debug
accepted=$IT_TMP/accepted.txt
: >"$accepted"

# json_for TENANT LOG_ID: a JSON request body.
json_for() {
  printf '{"tenant_id": "%s", "log_id": "%s", "text": "from %s, mail x@example.com"}' \
    "$1" "$2" "$1"
}

# --- 401 ------------------------------------------------------------------
post_json no-auth "$(json_for "$a" n1)"
expect_error_body no-auth 401 unauthorized
post_text no-auth-text 'hello' -H "X-Tenant-ID: $a"
expect_error_body no-auth-text 401 unauthorized
post_json wrong-key "$(json_for "$a" n2)" -H "Authorization: Bearer $wrong"
expect_error_body wrong-key 401 unauthorized
post_json basic "$(json_for "$a" n3)" -H "Authorization: Basic $key_a"
expect_error_body basic 401 unauthorized
post_json empty-bearer "$(json_for "$a" n4)" -H 'Authorization: Bearer '
expect_error_body empty-bearer 401 unauthorized
# A key with something after it is not that key.
post_json key-suffix "$(json_for "$a" n5)" -H "Authorization: Bearer ${key_a}x"
expect_error_body key-suffix 401 unauthorized

# --- 403 ------------------------------------------------------------------
post_json a-writes-b "$(json_for "$b" x1)" -H "Authorization: Bearer $key_a"
expect_error_body a-writes-b 403 forbidden
post_text a-writes-b-text 'sneaky' -H "X-Tenant-ID: $b" \
  -H "Authorization: Bearer $key_a"
expect_error_body a-writes-b-text 403 forbidden
post_json b-writes-a "$(json_for "$a" x2)" -H "Authorization: Bearer $key_b"
expect_error_body b-writes-a 403 forbidden

# --- 202 ------------------------------------------------------------------
post_json a-writes-a "$(json_for "$a" a1)" -H "Authorization: Bearer $key_a"
expect_accepted a-writes-a "$a" a1 '[0-9A-Za-z]+'
echo "$a a1" >>"$accepted"
post_text a-writes-a-text 'text of a, call 555-0199' -H "X-Tenant-ID: $a" \
  -H "Authorization: Bearer $key_a"
expect_accepted a-writes-a-text "$a" "" '[0-9A-Za-z]+'
echo "$a $LOG_ID" >>"$accepted"
post_json b-writes-b "$(json_for "$b" b1)" -H "Authorization: Bearer $key_b"
expect_accepted b-writes-b "$b" b1 '[0-9A-Za-z]+'
echo "$b b1" >>"$accepted"
# No tenant given: the key's.
post_json a-implied '{"log_id": "a2", "text": "whose?"}' \
  -H "Authorization: Bearer $key_a"
expect_accepted a-implied "$a" a2 '[0-9A-Za-z]+'
echo "$a a2" >>"$accepted"
post_text b-implied 'text of b' -H "Authorization: Bearer $key_b"
expect_accepted b-implied "$b" "" '[0-9A-Za-z]+'
echo "$b $LOG_ID" >>"$accepted"

scrape "$GW_PORT" >"$IT_TMP/gateway-metrics.txt"
stop_process "$GW_PID" "event-gateway"

n=$(count_lines "$accepted")
# Everything the gateway published: exactly the accepted requests.
consume_all consumer "${PUBSUB[@]}" --subscription "$sub" "${SINK[@]}"
expect_summary "$IT_TMP/consumer.err" "consumed=$n" "valid=$n" toxic=0
fs_expect "$accepted"

# No key anywhere the gateway wrote.
for f in "$IT_TMP"/gw.out "$IT_TMP"/gw.err "$IT_TMP/gateway-metrics.txt"; do
  for k in "$key_a" "$key_b" "$wrong"; do
    ! grep -qF -- "$k" "$f" || fail "${f##*/} holds an API key (${k:0:2}...)"
  done
done
[[ -s $IT_TMP/gw.err ]] || fail "the gateway logged nothing at --log-level debug"
log "ok: 401 without a known Bearer key, 403 across tenants, 202 for a" \
  "tenant's own key; $n documents, each in its key's tenant; no key in" \
  "$(count_lines "$IT_TMP/gw.err") log lines or /metrics"

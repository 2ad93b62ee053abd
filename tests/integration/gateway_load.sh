#!/usr/bin/env bash
# Issue 11, integration test 6: 1,000 requests a minute for 60 s on
# loopback, from the bounded open-loop client bench/gateway-load.py (JSON
# and text/plain, four tenants, each request with a log id of its own and a
# phone number and an e-mail address in its text), through event-gateway,
# Pub/Sub, event-consumer --sink firestore --redact phone,email, into
# Firestore: zero errors (every request answered 202 with the body the
# contract gives), and every request stored, exactly once, redacted
# (gateway/firestore.py expect --load-text). The latencies the client
# measured are logged, never asserted (bench/gateway.sh measures them).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
gateway_init

readonly RATE=1000 DURATION=60
topic=$(unique_name topic)
sub=$(unique_name sub)
pubsub_pair "$topic" "$sub" 60
gateway_start gw "${PUBSUB[@]}" --pubsub-topic "$topic"
consumer_start consumer "${PUBSUB[@]}" --subscription "$sub" "${SINK[@]}"

rc=0
load load "$RATE" "$DURATION" || rc=$?
load_done load "$rc"
expect_eq "requests sent" "$N" $((RATE * DURATION / 60))

wait_docs "$N" 120 "$CONSUMER_PID"
stop_process "$CONSUMER_PID" "event-consumer"
stop_process "$GW_PID" "event-gateway"
fs_expect "$IT_TMP/load.accepted" --load-text
log "ok: $N requests in ${DURATION}s, all 202, all stored once and redacted"

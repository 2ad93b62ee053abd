#!/usr/bin/env bash
# Authentication as the README shows it, with -X properties only: the test
# broker's SASL_PLAINTEXT listener (mechanism PLAIN, `kafka.sh sasl`) takes
# the seed scenario from a client with the right password and refuses one
# with a wrong password (exit 69, the broker's reason on stderr). The
# password appears in no output of any run, not even with librdkafka's
# configuration and security debugging on at --log-level debug.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker
require_kafka_sh

read -r address user password < <("$KAFKA_SH" sasl 2>"$IT_TMP/kafka-sasl.err") ||
  fail "kafka.sh sasl failed: $(cat "$IT_TMP/kafka-sasl.err")"
[[ -n $password ]] || fail "kafka.sh sasl printed no password"
topic=$(unique_name topic)
group=$(unique_name group)
sasl=(-b "$address" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN
  -X "sasl.username=$user")

rc=0
"$PRODUCER" "${sasl[@]}" -X "sasl.password=$password" -t "$topic" \
  >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status (right password)" "$rc" 0
grep -q 'Summary: queued=13 delivered=13 failed=0 undelivered=0$' \
  "$IT_TMP/producer.err" || fail "the producer did not deliver all 13"

rc=0
"$CONSUMER" "${sasl[@]}" -X "sasl.password=$password" -t "$topic" \
  -g "$group" --idle-exit 5 --log-level debug -X debug=conf,security \
  >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err" || rc=$?
expect_eq "consumer exit status (right password)" "$rc" 0
check events "$IT_TMP/consumer.out" 10
expect_summary "$IT_TMP/consumer.err" consumed=13 valid=10 toxic=3
grep -q 'sasl.password = \[redacted\]' "$IT_TMP/consumer.err" ||
  fail "librdkafka's configuration dump is missing: the debug run did not" \
    "show what it would have shown"

# Wrong by a suffix, so that printing it would print the real one too.
rc=0
"$PRODUCER" "${sasl[@]}" -X "sasl.password=${password}x" -t "$topic" \
  --flush-timeout 5 --log-level debug -X debug=security \
  >"$IT_TMP/refused.out" 2>"$IT_TMP/refused.err" || rc=$?
expect_eq "producer exit status (wrong password)" "$rc" 69
grep -q 'Authentication failed' "$IT_TMP/refused.err" ||
  fail "the refusal does not say 'Authentication failed'"

for f in "$IT_TMP"/*.out "$IT_TMP"/*.err; do
  ! grep -qF -- "$password" "$f" || fail "${f##*/} holds the SASL password"
done
log "ok: right password served, wrong one refused (69), the password in" \
  "no output"

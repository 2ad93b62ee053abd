#!/usr/bin/env bash
# Same messages, same output, whichever transport carried them (DESIGN.md,
# invariant 5): the 13 lines of pubsub/seed-input.ndjson (10 valid events, 3
# malformed payloads) go through Kafka and through Pub/Sub, and the consumer
# prints the same events and reports the same toxic payloads, the location
# of each report aside. Then the seed scenario proper on Pub/Sub: the
# producer's default run gives 10 events on stdout and 3 errors on stderr.
#
# Pub/Sub delivers in no particular order without ordering keys, so outputs
# are compared as sorted sets of lines.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker
pubsub_init

readonly INPUT=$IT_DIR/pubsub/seed-input.ndjson
readonly LOCATION_RE='subscription=[^ ]+ message_id=[0-9A-Za-z]+'

# Reports without their location: "(reason=R detail="D" LOCATION)" loses
# LOCATION, sorted.
strip_locations() {
  toxic_reports "$1" |
    sed -E 's/ (topic=[^ ]+ partition=[0-9]+ offset=[0-9]+|subscription=[^ ]+ message_id=[0-9A-Za-z]+)\)$/)/' |
    sort
}

# --- 1. Kafka ----------------------------------------------------------------
topic=$(unique_name topic)
group=$(unique_name group)
rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$INPUT" \
  >"$IT_TMP/kafka-producer.out" 2>"$IT_TMP/kafka-producer.err" || rc=$?
expect_eq "Kafka producer exit status" "$rc" 0
rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --max-messages 13 \
  --idle-exit 20 >"$IT_TMP/kafka.out" 2>"$IT_TMP/kafka.err" || rc=$?
expect_eq "Kafka consumer exit status" "$rc" 0
expect_summary "$IT_TMP/kafka.err" consumed=13 valid=10 toxic=3 not_json=3

# --- 2. Pub/Sub, the same input ---------------------------------------------
# The producer's --create makes the subscription as well, before it
# publishes: a message published to a topic without subscriptions is lost.
ps_topic=$(unique_name topic)
sub=$(unique_name sub)
rc=0
"$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$ps_topic" --subscription "$sub" \
  --create --input "$INPUT" >"$IT_TMP/pubsub-producer.out" \
  2>"$IT_TMP/pubsub-producer.err" || rc=$?
expect_eq "Pub/Sub producer exit status" "$rc" 0
expect_published "$IT_TMP/pubsub-producer.out" 13
grep -q 'Summary: queued=13 delivered=13 failed=0 undelivered=0$' \
  "$IT_TMP/pubsub-producer.err" ||
  fail "Pub/Sub producer summary is not queued=13 delivered=13 failed=0"
rc=0
"$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --max-messages 13 \
  --idle-exit 20 >"$IT_TMP/pubsub.out" 2>"$IT_TMP/pubsub.err" || rc=$?
expect_eq "Pub/Sub consumer exit status" "$rc" 0
expect_summary "$IT_TMP/pubsub.err" consumed=13 valid=10 toxic=3 not_json=3 \
  unacknowledged=0

check events "$IT_TMP/pubsub.out" 10
# Byte for byte the valid lines of the input, in some order.
head -n 10 "$INPUT" | sort >"$IT_TMP/input-valid.sorted"
sort "$IT_TMP/pubsub.out" >"$IT_TMP/pubsub.sorted"
sort "$IT_TMP/kafka.out" >"$IT_TMP/kafka.sorted"
cmp -s "$IT_TMP/input-valid.sorted" "$IT_TMP/pubsub.sorted" ||
  fail "Pub/Sub stdout is not the 10 valid input lines byte for byte"
cmp -s "$IT_TMP/kafka.sorted" "$IT_TMP/pubsub.sorted" ||
  fail "Kafka and Pub/Sub stdout differ (as sorted lines):" \
    "$(diff "$IT_TMP/kafka.sorted" "$IT_TMP/pubsub.sorted" | head -n 6)"

n=$(toxic_reports "$IT_TMP/pubsub.err" | wc -l)
expect_eq "Pub/Sub toxic reports" "$n" 3
n=$(toxic_reports "$IT_TMP/pubsub.err" |
  grep -cE " \\(reason=[a-z_]+ detail=.* subscription=$sub message_id=[0-9A-Za-z]+\\)\$" || true)
expect_eq "Pub/Sub reports ending in 'subscription=$sub message_id=ID)'" "$n" 3
strip_locations "$IT_TMP/kafka.err" >"$IT_TMP/kafka-toxic.txt"
strip_locations "$IT_TMP/pubsub.err" >"$IT_TMP/pubsub-toxic.txt"
n=$(count_lines "$IT_TMP/kafka-toxic.txt")
expect_eq "Kafka toxic reports" "$n" 3
if grep -qE "$LOCATION_RE|partition=" "$IT_TMP/kafka-toxic.txt" \
  "$IT_TMP/pubsub-toxic.txt"; then
  fail "a report kept its location after stripping; the format changed"
fi
cmp -s "$IT_TMP/kafka-toxic.txt" "$IT_TMP/pubsub-toxic.txt" ||
  fail "the toxic reports differ beyond their location (Kafka, Pub/Sub):" \
    "$(diff "$IT_TMP/kafka-toxic.txt" "$IT_TMP/pubsub-toxic.txt" | head -n 6)"

# --- 3. The seed scenario on Pub/Sub: the generator's default run ------------
gen_topic=$(unique_name gentopic)
gen_sub=$(unique_name gensub)
rc=0
"$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$gen_topic" \
  --subscription "$gen_sub" --create >"$IT_TMP/gen-producer.out" \
  2>"$IT_TMP/gen-producer.err" || rc=$?
expect_eq "generator producer exit status" "$rc" 0
expect_published "$IT_TMP/gen-producer.out" 13
rc=0
"$CONSUMER" "${PUBSUB[@]}" --subscription "$gen_sub" --max-messages 13 \
  --idle-exit 20 >"$IT_TMP/gen.out" 2>"$IT_TMP/gen.err" || rc=$?
expect_eq "generator consumer exit status" "$rc" 0
check events "$IT_TMP/gen.out" 10
n=$(count_prefix "$IT_TMP/gen.err" 'ERROR: Malformed JSON received:')
expect_eq "stderr lines beginning 'ERROR: Malformed JSON received:'" "$n" 3
n=$(grep -c '^ERROR: ' "$IT_TMP/gen.err" || true)
expect_eq "ERROR lines on stderr" "$n" 3
expect_summary "$IT_TMP/gen.err" consumed=13 valid=10 toxic=3 tombstones=0 \
  not_json=3 unacknowledged=0
log "ok: Kafka and Pub/Sub print the same 10 events and 3 reports; seed run right"

#!/usr/bin/env bash
# The seed scenario end to end: the producer's default run (10 valid events,
# 3 malformed payloads), then one consumer on a fresh group. The valid events
# reach stdout as they are stored on the topic, the malformed ones reach
# stderr once each, and the summary counts all 13.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

topic=$(unique_name topic)
group=$(unique_name group)

rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" >"$IT_TMP/producer.out" \
  2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status" "$rc" 0
n=$(count_lines "$IT_TMP/producer.out")
expect_eq "producer stdout lines" "$n" 13
n=$(grep -cE '^Published message partition=[0-9]+ offset=[0-9]+$' \
  "$IT_TMP/producer.out" || true)
expect_eq "'Published message partition=P offset=O' lines" "$n" 13
n=$(sort -u "$IT_TMP/producer.out" | wc -l)
expect_eq "distinct partition/offset pairs" "$n" 13
grep -q 'Summary: queued=13 delivered=13 failed=0 undelivered=0$' \
  "$IT_TMP/producer.err" || fail "producer summary is not queued=13 delivered=13"

# What is really on the topic, independently of our consumer. One partition
# (auto-created), so kcat reads it in production order.
kcat_read "$topic" >"$IT_TMP/topic.txt"
n=$(count_lines "$IT_TMP/topic.txt")
expect_eq "messages on the topic (kcat)" "$n" 13
head -n 10 "$IT_TMP/topic.txt" >"$IT_TMP/topic-valid.txt"
tail -n 3 "$IT_TMP/topic.txt" >"$IT_TMP/topic-malformed.txt"

rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --idle-exit 5 \
  >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err" || rc=$?
expect_eq "consumer exit status" "$rc" 0

check same-json "$IT_TMP/topic-valid.txt" "$IT_TMP/consumer.out"
cmp -s "$IT_TMP/topic-valid.txt" "$IT_TMP/consumer.out" ||
  fail "stdout is JSON-equal to the events on the topic but not byte-identical"
check events "$IT_TMP/consumer.out" 10

n=$(count_prefix "$IT_TMP/consumer.err" 'ERROR: Malformed JSON received:')
expect_eq "stderr lines beginning 'ERROR: Malformed JSON received:'" "$n" 3
# Each report shows its payload, in topic order.
grep '^ERROR: Malformed JSON received:' "$IT_TMP/consumer.err" |
  sed -E 's/^ERROR: Malformed JSON received: (.*) \(reason=not_json detail=.*/\1/' \
    >"$IT_TMP/reported.txt"
cmp -s "$IT_TMP/topic-malformed.txt" "$IT_TMP/reported.txt" ||
  fail "the toxic reports do not show the 3 malformed payloads in order" \
    "(reason=not_json)"

expect_summary "$IT_TMP/consumer.err" consumed=13 valid=10 toxic=3 \
  tombstones=0 not_json=3
log "ok: 13 published, 10 on stdout as stored, 3 reported, summary right"

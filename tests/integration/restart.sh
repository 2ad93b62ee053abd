#!/usr/bin/env bash
# A consumer that exits commits what it acknowledged: the next run of the
# same group starts after it, and prints nothing again.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

topic=$(unique_name topic)
group=$(unique_name group)

"$PRODUCER" -b "$BROKERS" -t "$topic" >/dev/null 2>"$IT_TMP/producer.err" ||
  fail "producer default run failed"

# Run 1 reads all 13 (--max-messages ends it without an idle wait).
rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --max-messages 13 \
  --idle-exit 20 >"$IT_TMP/run1.out" 2>"$IT_TMP/run1.err" || rc=$?
expect_eq "run 1 exit status" "$rc" 0
expect_summary "$IT_TMP/run1.err" consumed=13 valid=10 toxic=3
n=$(count_lines "$IT_TMP/run1.out")
expect_eq "run 1 stdout lines" "$n" 10

# Run 2, same group: it must join and own the partition (else consumed=0
# would prove nothing), and find nothing left to read.
rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --idle-exit 5 \
  >"$IT_TMP/run2.out" 2>"$IT_TMP/run2.err" || rc=$?
expect_eq "run 2 exit status" "$rc" 0
grep -q '^INFO: kafka: assigned 1 partition(s)$' "$IT_TMP/run2.err" ||
  fail "run 2 was never assigned the partition; consumed=0 would prove nothing"
[[ ! -s $IT_TMP/run2.out ]] ||
  fail "run 2 printed $(count_lines "$IT_TMP/run2.out") events again: run 1's offsets were not committed"
n=$(count_prefix "$IT_TMP/run2.err" 'ERROR: Malformed JSON received:')
expect_eq "run 2 toxic reports" "$n" 0
expect_summary "$IT_TMP/run2.err" consumed=0 valid=0 toxic=0 tombstones=0

# Run 3, same group, after new messages: exactly those, so the group still
# reads and its position is right after run 1's last message.
make_events 3 "$topic-late" >"$IT_TMP/late.txt"
kcat -b "$BROKERS" -P -t "$topic" <"$IT_TMP/late.txt" ||
  fail "kcat could not produce to $topic"
rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --max-messages 3 \
  --idle-exit 20 >"$IT_TMP/run3.out" 2>"$IT_TMP/run3.err" || rc=$?
expect_eq "run 3 exit status" "$rc" 0
cmp -s "$IT_TMP/late.txt" "$IT_TMP/run3.out" ||
  fail "run 3 did not print exactly the 3 events produced after run 2"
expect_summary "$IT_TMP/run3.err" consumed=3 valid=3 toxic=0
log "ok: restart resumes after the committed offset"

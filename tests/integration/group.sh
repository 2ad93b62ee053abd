#!/usr/bin/env bash
# Two consumers in one group share a 4-partition topic: together they print
# every event exactly once, each gets a share, and when one leaves the other
# takes over its partitions where it stopped.
#
# The events come from --input, unkeyed, so librdkafka's partitioner spreads
# them over all 4 partitions at random: whichever partitions each consumer is
# assigned, both get data. (The generator's 6 service keys hash to only 3 of
# the 4 partitions, so its spread would depend on the assignor's choice.)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

readonly PARTITIONS=4 EVENTS=400
topic=$(unique_name topic)
group=$(unique_name group)
create_topic "$topic" "$PARTITIONS"
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"

# --idle-exit only as a safety net: the test stops them itself.
declare -A pid
for c in a b; do
  spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --idle-exit 60 \
    >"$IT_TMP/$c.out" 2>"$IT_TMP/$c.err"
  pid[$c]=$!
done

# Partitions a consumer owns now, from its rebalance log lines.
owned() {
  awk '/^INFO: kafka: assigned [0-9]+ partition/ { n = $4 }
       /^INFO: kafka: revoking / { n = 0 }
       END { print n + 0 }' "$1"
}
# Produce only once both own partitions; otherwise the first to join could
# read everything before the second arrives.
both_assigned() {
  local a b
  a=$(owned "$IT_TMP/a.err")
  b=$(owned "$IT_TMP/b.err")
  ((a > 0 && b > 0 && a + b == PARTITIONS))
}
wait_until 15 both_assigned ||
  fail "the two consumers did not split the $PARTITIONS partitions within 15 s" \
    "(a owns $(owned "$IT_TMP/a.err"), b owns $(owned "$IT_TMP/b.err"))"

rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/events.txt" --rate 200 \
  >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status" "$rc" 0
n=$(grep -c '^Published message partition=' "$IT_TMP/producer.out" || true)
expect_eq "published messages" "$n" "$EVENTS"
n=$(sed -E 's/^Published message partition=([0-9]+) .*/\1/' \
  "$IT_TMP/producer.out" | sort -u | wc -l)
expect_eq "partitions the events went to" "$n" "$PARTITIONS"

printed() {
  (($(count_lines "$IT_TMP/a.out") + $(count_lines "$IT_TMP/b.out") >= EVENTS))
}
wait_until 30 printed ||
  fail "the consumers printed $(cat "$IT_TMP/a.out" "$IT_TMP/b.out" | wc -l)" \
    "of $EVENTS events within 30 s"

# Hand a's partitions over to b: a commits what it printed as it leaves, so
# b, which starts on them at the committed offsets, must print nothing again.
kill -TERM "${pid[a]}"
rc=0
reap "${pid[a]}" || rc=$?
expect_eq "consumer a exit status" "$rc" 0
b_owns_all() { (($(owned "$IT_TMP/b.err") == PARTITIONS)); }
wait_until 20 b_owns_all ||
  fail "b was not given a's partitions within 20 s after a left"
# Long enough for b to fetch from its new partitions, had there been anything.
sleep 2
kill -TERM "${pid[b]}"
rc=0
reap "${pid[b]}" || rc=$?
expect_eq "consumer b exit status" "$rc" 0

check cover "$IT_TMP/events.txt" "$IT_TMP/a.out" "$IT_TMP/b.out"
for c in a b; do
  n=$(count_lines "$IT_TMP/$c.out")
  ((n > 0)) || fail "consumer $c printed no event; the group did not share the work"
  expect_summary "$IT_TMP/$c.err" "consumed=$n" "valid=$n" toxic=0
  log "consumer $c: $n events"
done
log "ok: $EVENTS events, each printed once, shared by both consumers"

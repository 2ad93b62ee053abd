#!/usr/bin/env bash
# A long mixed stream: 700 valid events, 300 payloads of every toxic kind the
# generator makes, and 5 tombstones. Each lands in exactly one place, every
# toxic report is one escaped line with the right reason, and the summary
# adds up.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

readonly VALID=700 MALFORMED=300 TOMBSTONES=5
readonly TOTAL=$((VALID + MALFORMED + TOMBSTONES))
# The verdict on each of producer/generator.c's malformed[] payloads, in
# order; the generator cycles through them. Keep in step with that list.
readonly KIND_REASONS=(
  not_json      # "invalid non-JSON string"
  not_json      # {"timestamp": ..., "level": "ERR   (truncated)
  not_json      # "just another bad payload"
  missing_field # no timestamp
  bad_timestamp # "timestamp":"yesterday"
  bad_level     # "level":"VERBOSE"
  not_object    # ["not","an","object"]
  wrong_type    # "service_name":42
  not_json      # ESC[31m terminal escape ESC[0m \n forged: line
)
topic=$(unique_name topic)
group=$(unique_name group)

rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" --count "$VALID" --malformed "$MALFORMED" \
  >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status" "$rc" 0
n=$(grep -c '^Published message partition=' "$IT_TMP/producer.out" || true)
expect_eq "published messages" "$n" $((VALID + MALFORMED))

# Tombstones: a key and a NULL value. -Z makes kcat send an empty value as
# NULL rather than as zero bytes; checked below with %S (-1 = NULL).
for i in $(seq 1 "$TOMBSTONES"); do
  echo "k$i:"
done | kcat -b "$BROKERS" -P -t "$topic" -Z -K: ||
  fail "kcat could not produce the tombstones"
kcat -b "$BROKERS" -C -e -q -o beginning -t "$topic" -f '%S\n' \
  >"$IT_TMP/sizes.txt" || fail "kcat could not read $topic"
n=$(count_lines "$IT_TMP/sizes.txt")
expect_eq "messages on the topic" "$n" "$TOTAL"
n=$(tail -n "$TOMBSTONES" "$IT_TMP/sizes.txt" | grep -cx -- -1 || true)
expect_eq "NULL-valued messages kcat -Z produced" "$n" "$TOMBSTONES"

rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --max-messages "$TOTAL" \
  --idle-exit 20 >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err" || rc=$?
expect_eq "consumer exit status" "$rc" 0

# stdout: the valid events, as stored (single partition: in order).
check events "$IT_TMP/consumer.out" "$VALID"
kcat_read "$topic" >"$IT_TMP/topic.txt"
head -n "$VALID" "$IT_TMP/topic.txt" >"$IT_TMP/topic-valid.txt"
cmp -s "$IT_TMP/topic-valid.txt" "$IT_TMP/consumer.out" ||
  fail "stdout is not the $VALID valid events as stored on the topic"

# stderr: one report line per toxic payload, reasons in generator order.
grep -E '^ERROR: (Malformed JSON|Invalid event) received: ' \
  "$IT_TMP/consumer.err" >"$IT_TMP/toxic.txt" || true
n=$(count_lines "$IT_TMP/toxic.txt")
expect_eq "toxic report lines on stderr" "$n" "$MALFORMED"
sed -E 's/.* \(reason=([a-z_]+) detail=.*/\1/' "$IT_TMP/toxic.txt" \
  >"$IT_TMP/reasons.txt"
# A redirected loop runs in this shell, so want[] (count per reason) stays set.
declare -A want=()
for ((i = 0; i < MALFORMED; i++)); do
  reason=${KIND_REASONS[i % ${#KIND_REASONS[@]}]}
  want[$reason]=$((${want[$reason]:-0} + 1))
  echo "$reason"
done >"$IT_TMP/reasons-expected.txt"
diff "$IT_TMP/reasons-expected.txt" "$IT_TMP/reasons.txt" >"$IT_TMP/reasons.diff" ||
  fail "toxic reasons differ from producer/generator.c's list (expected vs" \
    "got): $(head -n 6 "$IT_TMP/reasons.diff" | tr '\n' ' ')"
# "Malformed JSON" for payloads that do not parse, "Invalid event" for the rest.
n=$(grep -c '^ERROR: Malformed JSON received: .* (reason=\(not_json\|empty\) ' \
  "$IT_TMP/toxic.txt" || true)
expect_eq "'Malformed JSON' reports" "$n" "${want[not_json]}"

# Invariant 4: no raw control byte reaches a log line; the forged payload's
# ESC and newline are shown escaped, so no line starts with "forged:".
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$IT_TMP/consumer.err"; then
  fail "a raw control byte reached stderr"
fi
if grep -q '^forged: line' "$IT_TMP/consumer.err"; then
  fail "a payload's newline forged a log line on stderr"
fi
grep -qF 'received: \x1b[31mterminal escape\x1b[0m\nforged: line (reason=not_json' \
  "$IT_TMP/consumer.err" || fail "the terminal-escape payload is not shown escaped"

summary=("consumed=$TOTAL" "valid=$VALID" "toxic=$MALFORMED"
  "tombstones=$TOMBSTONES" empty=0 too_large=0)
for reason in not_json not_object missing_field wrong_type bad_timestamp bad_level; do
  summary+=("$reason=${want[$reason]:-0}")
done
expect_summary "$IT_TMP/consumer.err" "${summary[@]}"
log "ok: ${summary[*]}"

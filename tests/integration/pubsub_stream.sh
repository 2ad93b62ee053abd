#!/usr/bin/env bash
# A long mixed stream on Pub/Sub: 1,400 valid events and 600 toxic payloads
# of six kinds, shuffled, published with --input. Every valid event reaches
# stdout exactly once (a duplicate could only come from a redelivery, and
# with a 60 s ack deadline there must be none), every toxic payload is
# reported once with the right reason and its own message id, and the
# summary adds up.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init

readonly VALID=1400 PER_KIND=100
readonly KINDS=(not_json not_object missing_field bad_level bad_timestamp
  wrong_type)
readonly TOXIC=$((PER_KIND * ${#KINDS[@]}))
readonly TOTAL=$((VALID + TOXIC))
topic=$(unique_name topic)
sub=$(unique_name sub)

make_events "$VALID" "$topic" >"$IT_TMP/valid.txt"
# toxic.txt: KIND<TAB>PAYLOAD, PER_KIND of each, every payload unique and
# printable ASCII (so its report shows it as it is); input.txt: all lines,
# shuffled with a fixed seed.
python3 - "$IT_TMP/valid.txt" "$IT_TMP/toxic.txt" "$IT_TMP/input.txt" \
  "$PER_KIND" <<'EOF'
import json, random, sys
valid_path, toxic_path, input_path, per_kind = sys.argv[1:5]
ts = "2026-11-22T10:15:30Z"
def ev(**kw):
    return json.dumps(kw, separators=(",", ":"))
kinds = {
    "not_json": lambda i: "not json at all, line %d" % i,
    "not_object": lambda i: '["an","array",%d]' % i,
    "missing_field": lambda i: ev(service_name="billing-service",
                                  level="INFO", message="no timestamp %d" % i),
    "bad_level": lambda i: ev(timestamp=ts, service_name="billing-service",
                              level="LOUD", message="bad level %d" % i),
    "bad_timestamp": lambda i: ev(timestamp="yesterday %d" % i,
                                  service_name="billing-service",
                                  level="INFO", message="bad time"),
    "wrong_type": lambda i: ev(timestamp=ts, service_name=i, level="INFO",
                               message="service_name is a number"),
}
toxic = [(k, f(i)) for k, f in kinds.items() for i in range(int(per_kind))]
with open(toxic_path, "w") as f:
    for k, p in toxic:
        f.write(f"{k}\t{p}\n")
with open(valid_path, "rb") as f:
    lines = f.read().decode().splitlines()
lines += [p for _, p in toxic]
random.Random(7).shuffle(lines)
with open(input_path, "w") as f:
    f.write("\n".join(lines) + "\n")
EOF
n=$(count_lines "$IT_TMP/input.txt")
expect_eq "input lines" "$n" "$TOTAL"

rc=0
"$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$topic" --subscription "$sub" \
  --create --ack-deadline 60 --input "$IT_TMP/input.txt" \
  >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status" "$rc" 0
expect_published "$IT_TMP/producer.out" "$TOTAL"
grep -q "Summary: queued=$TOTAL delivered=$TOTAL failed=0 undelivered=0\$" \
  "$IT_TMP/producer.err" || fail "producer summary is not delivered=$TOTAL"

rc=0
"$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --ack-deadline 60 \
  --max-messages "$TOTAL" --idle-exit 20 >"$IT_TMP/consumer.out" \
  2>"$IT_TMP/consumer.err" || rc=$?
expect_eq "consumer exit status" "$rc" 0

# stdout: each valid event once, nothing else.
check events "$IT_TMP/consumer.out" "$VALID"
check cover "$IT_TMP/valid.txt" "$IT_TMP/consumer.out"

# stderr: one report per toxic payload, showing it, with its reason.
toxic_reports "$IT_TMP/consumer.err" >"$IT_TMP/reports.txt"
n=$(count_lines "$IT_TMP/reports.txt")
expect_eq "toxic report lines" "$n" "$TOXIC"
sed -E 's/^ERROR: (Malformed JSON|Invalid event) received: (.*) \(reason=([a-z_]+) detail=.*/\3\t\2/' \
  "$IT_TMP/reports.txt" | sort >"$IT_TMP/reported.txt"
sort "$IT_TMP/toxic.txt" >"$IT_TMP/toxic.sorted"
cmp -s "$IT_TMP/toxic.sorted" "$IT_TMP/reported.txt" ||
  fail "the reports are not each toxic payload once with its reason" \
    "(expected vs got): $(diff "$IT_TMP/toxic.sorted" "$IT_TMP/reported.txt" |
      head -n 6 | tr '\n' ' ')"
n=$(grep -c '^ERROR: Malformed JSON received: .* (reason=not_json ' \
  "$IT_TMP/reports.txt" || true)
expect_eq "'Malformed JSON' reports" "$n" "$PER_KIND"
# Each report names its own message.
grep -oE " subscription=$sub message_id=[0-9A-Za-z]+\\)\$" "$IT_TMP/reports.txt" |
  sort -u >"$IT_TMP/report-ids.txt"
n=$(count_lines "$IT_TMP/report-ids.txt")
expect_eq "distinct 'subscription=$sub message_id=ID' locations" "$n" "$TOXIC"

summary=("consumed=$TOTAL" "valid=$VALID" "toxic=$TOXIC" tombstones=0 empty=0
  too_large=0 unacknowledged=0)
for kind in "${KINDS[@]}"; do
  summary+=("$kind=$PER_KIND")
done
expect_summary "$IT_TMP/consumer.err" "${summary[@]}"
log "ok: ${summary[*]}"

#!/usr/bin/env bash
# A consumer that cannot write its output hands the messages it holds back
# at once (modifyAckDeadline 0) rather than letting them sit out their ack
# deadline: with a deadline of 600 s, a second consumer that gives up after
# 5 idle seconds can only get them all if they were released.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init

readonly EVENTS=300 ACK_DEADLINE=600
topic=$(unique_name topic)
sub=$(unique_name sub)
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"

publish_events "$topic" "$sub" "$ACK_DEADLINE" "$IT_TMP/events.txt" "$EVENTS"

# --- 1. stdout is /dev/full: the first flush fails ---------------------------
rc=0
"$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --ack-deadline "$ACK_DEADLINE" \
  --idle-exit 30 >/dev/full 2>"$IT_TMP/run1.err" || rc=$?
expect_eq "consumer exit status with stdout on /dev/full (EX_IOERR)" "$rc" 74
grep -q '^ERROR: .*No space left on device' "$IT_TMP/run1.err" ||
  fail "consumer 1 did not report the failed write (ENOSPC) on stderr"
expect_summary "$IT_TMP/run1.err" consumed=0 valid=0 toxic=0
[[ " $(summary_of "$IT_TMP/run1.err") " =~ \ unacknowledged=[1-9][0-9]*\  ]] ||
  fail "consumer 1's summary does not count the batch it could not write"

# --- 2. everything, straight away --------------------------------------------
rc=0
"$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --ack-deadline "$ACK_DEADLINE" \
  --idle-exit 5 >"$IT_TMP/run2.out" 2>"$IT_TMP/run2.err" || rc=$?
expect_eq "consumer 2 exit status" "$rc" 0
check cover "$IT_TMP/events.txt" "$IT_TMP/run2.out"
expect_summary "$IT_TMP/run2.err" "consumed=$EVENTS" "valid=$EVENTS" toxic=0 \
  unacknowledged=0
log "ok: exit 74 on /dev/full, and all $EVENTS events again at once" \
  "despite a ${ACK_DEADLINE} s ack deadline"

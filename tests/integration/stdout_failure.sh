#!/usr/bin/env bash
# A consumer whose stdout goes away exits 74 (EX_IOERR) instead of hanging,
# and acknowledges nothing it could not write: the next run of its group
# prints the rest, so nothing is lost.
#
# Why the topic is filled in two steps: what a consumer writes into a pipe
# before the reader exits is, for the consumer, written; if `head -n 3` gets
# 3 of 50 lines from one write, the other 47 die in the pipe and no program
# could notice. So head gets exactly 3 events first, and the other 47 are
# produced once head has exited; their write is the one that fails.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

readonly EVENTS=50 HEAD=3
topic=$(unique_name topic)
group=$(unique_name group)
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"
head -n "$HEAD" "$IT_TMP/events.txt" >"$IT_TMP/first.txt"
tail -n +$((HEAD + 1)) "$IT_TMP/events.txt" >"$IT_TMP/rest.txt"

produce() {
  "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$1" >/dev/null \
    2>>"$IT_TMP/producer.err" || fail "producer --input $1 failed"
}

# --- 1. consumer | head -n 3 -----------------------------------------------
produce "$IT_TMP/first.txt"
# A FIFO rather than a shell pipeline, so both ends are children of this
# shell and their exit statuses can be collected.
mkfifo "$IT_TMP/pipe"
# Not spawn: each end must open the FIFO in its own process, as opening one
# end blocks until the other is open.
head -n "$HEAD" <"$IT_TMP/pipe" >"$IT_TMP/head.out" &
head_pid=$!
IT_PIDS+=("$head_pid")
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --idle-exit 30 \
  >"$IT_TMP/pipe" 2>"$IT_TMP/run1.err" &
consumer_pid=$!
IT_PIDS+=("$consumer_pid")
rc=0
reap "$head_pid" || rc=$?
expect_eq "head exit status" "$rc" 0
n=$(count_lines "$IT_TMP/head.out")
expect_eq "lines head printed" "$n" "$HEAD"

# The reader is gone; the next batch cannot be written.
produce "$IT_TMP/rest.txt"
rc=0
reap "$consumer_pid" || rc=$?
expect_eq "consumer exit status once stdout is gone (EX_IOERR)" "$rc" 74
grep -q '^ERROR: .*stdout: Broken pipe' "$IT_TMP/run1.err" ||
  fail "the consumer did not report the broken pipe on stderr"
summary_of "$IT_TMP/run1.err" >/dev/null

# Run 2 of the group: exactly the events head never saw. The 3 head printed
# were acknowledged (their write succeeded), the failed batch was not.
consume_rest "$topic" "$group" $((EVENTS - HEAD)) run2
check cover "$IT_TMP/events.txt" "$IT_TMP/head.out" "$IT_TMP/run2.out"

# --- 2. stdout closed before the first write --------------------------------
# A new group on the same 50 events, its stdout a pipe nobody reads: the
# very first batch fails, nothing is acknowledged, and a rerun prints all 50.
group2=$(unique_name group2)
rc=0
python3 - "$IT_TMP/run3.err" "$CONSUMER" -b "$BROKERS" -t "$topic" \
  -g "$group2" --idle-exit 30 <<'EOF' || rc=$?
import subprocess, sys
with open(sys.argv[1], "wb") as err:
    p = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=err)
    p.stdout.close()  # no reader left before the consumer writes anything
    sys.exit(p.wait())
EOF
expect_eq "consumer exit status with stdout closed from the start" "$rc" 74
# Its summary claims nothing it did not acknowledge.
expect_summary "$IT_TMP/run3.err" consumed=0 valid=0 toxic=0
[[ " $(summary_of "$IT_TMP/run3.err") " =~ \ unacknowledged=[1-9][0-9]*\  ]] ||
  fail "run 3 summary does not count its unacknowledged batch"
consume_rest "$topic" "$group2" "$EVENTS" run4
check cover "$IT_TMP/events.txt" "$IT_TMP/run4.out"
log "ok: exit 74 on a closed stdout, and every event printed by a later run"

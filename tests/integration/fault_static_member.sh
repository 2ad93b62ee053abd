#!/usr/bin/env bash
# Static group membership (--instance-id), after a crash and when misused.
#
# 1. A consumer SIGKILLed and started again with the same id takes its
#    partitions back at once: Kafka kept them assigned to the static member.
#    Events published after the restart are printed within RESUME_S. (Without
#    an id the new member waits for the dead one's session to time out,
#    session.timeout.ms, 45 s: too slow to test here.)
# 2. Two live consumers with one id: Kafka fences the older one, which exits
#    69 with a message naming the cause; the newer one owns the partitions
#    and stops cleanly on SIGTERM.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

readonly PARTITIONS=2 BACKLOG=100 LIVE=100 RESUME_S=10
readonly EVENTS=$((BACKLOG + LIVE))
topic=$(unique_name topic)
group=$(unique_name group)
id=$(unique_name member)
create_topic "$topic" "$PARTITIONS"
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"
head -n "$BACKLOG" "$IT_TMP/events.txt" >"$IT_TMP/backlog.txt"
tail -n "$LIVE" "$IT_TMP/events.txt" >"$IT_TMP/live.txt"
consumer=("$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group"
  --instance-id "$id" --idle-exit 60)

"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/backlog.txt" \
  >/dev/null 2>"$IT_TMP/producer1.err" || fail "producer (backlog) failed"
spawn "${consumer[@]}" >"$IT_TMP/a.out" 2>"$IT_TMP/a.err"
a=$!
has_backlog() { (($(count_lines "$IT_TMP/a.out") >= BACKLOG)); }
wait_until 30 has_backlog ||
  fail "the first consumer printed $(count_lines "$IT_TMP/a.out") of $BACKLOG events in 30 s"
crash "$a"
drop_partial_line "$IT_TMP/a.out"

# The restart, then new events: only a consumer that owns the partitions
# can print them.
t0=$(now_ms)
spawn "${consumer[@]}" >"$IT_TMP/b.out" 2>"$IT_TMP/b.err"
b=$!
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/live.txt" \
  >/dev/null 2>"$IT_TMP/producer2.err" || fail "producer (live) failed"
new_printed() { grep -qFxf "$IT_TMP/live.txt" "$IT_TMP/b.out"; }
wait_until "$RESUME_S" new_printed ||
  fail "no new event printed within $RESUME_S s of the restart with" \
    "--instance-id (a dynamic member would wait out session.timeout.ms)"
resumed_ms=$(($(now_ms) - t0))
all_live() { (($(grep -cFxf "$IT_TMP/live.txt" "$IT_TMP/b.out") >= LIVE)); }
wait_until 30 all_live || fail "the restarted consumer did not print all $LIVE new events"
check cover-some "$IT_TMP/events.txt" "$IT_TMP/a.out" "$IT_TMP/b.out"

# A second live consumer with the same id fences the first.
spawn "${consumer[@]}" >"$IT_TMP/c.out" 2>"$IT_TMP/c.err"
c=$!
b_exited() { ! kill -0 "$b" 2>/dev/null; }
wait_until 20 b_exited ||
  fail "a consumer whose --instance-id another live consumer took was not stopped in 20 s"
rc=0
reap "$b" || rc=$?
expect_eq "exit status of the fenced consumer" "$rc" 69
grep -q '^ERROR: .*fenced.*two live consumers must never share one' "$IT_TMP/b.err" ||
  fail "the fenced consumer's error does not name the shared --instance-id"
c_assigned() { grep -q '^INFO: kafka: assigned [1-9]' "$IT_TMP/c.err"; }
wait_until 20 c_assigned || fail "the newer consumer was not assigned the partitions"
kill -TERM "$c"
sent=$(now_ms)
rc=0
reap "$c" || rc=$?
expect_eq "exit status of the newer consumer after SIGTERM" "$rc" 0
(($(now_ms) - sent <= 10000)) ||
  fail "the newer consumer took $(($(now_ms) - sent)) ms to stop after SIGTERM"
log "ok: first new event $resumed_ms ms after the restart; the fenced consumer exited 69"

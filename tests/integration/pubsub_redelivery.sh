#!/usr/bin/env bash
# At-least-once on Pub/Sub: a consumer killed with SIGKILL after writing
# events but before acknowledging them loses nothing; they come back to the
# next consumer once their ack deadline (10 s here) runs out.
#
# How "written but not acknowledged" is made: the first consumer's stdout is
# a FIFO whose reader takes the first few lines and then stops reading while
# keeping it open. The events are ~4 KiB each, so no batch of the size a
# pull brings from a backlog (the emulator answers up to 100 messages a
# pull) fits into what the reader took plus the pipe's 64 KiB: the
# consumer's flush blocks with the whole batch unacknowledged, and no batch
# before it was complete. So the second consumer must print every event,
# including those the first one already printed.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init

readonly EVENTS=3000 READ_LINES=5 ACK_DEADLINE=10 IDLE_EXIT=25
topic=$(unique_name topic)
sub=$(unique_name sub)

python3 - "$EVENTS" "$topic" >"$IT_TMP/events.txt" <<'EOF'
import json, sys
n, tag = int(sys.argv[1]), sys.argv[2]
services = ["auth-service", "payment-service", "search-service", "api-gateway"]
for i in range(n):
    ev = {"timestamp": "2026-11-22T10:%02d:%02d.%03dZ" % (i // 60 % 60, i % 60,
                                                        i % 1000),
          "service_name": services[i % len(services)], "level": "INFO",
          "message": "event %d of %s" % (i, tag), "seq": i,
          "pad": "%05d" % i * 800}
    print(json.dumps(ev, separators=(",", ":")))
EOF

publish_events "$topic" "$sub" "$ACK_DEADLINE" "$IT_TMP/events.txt" "$EVENTS"

# --- 1. a consumer whose reader stops reading, then SIGKILL ------------------
mkfifo "$IT_TMP/pipe"
# The reader: READ_LINES lines into reader.out, then it waits (bounded) until
# the pipe is full, which means the consumer has more to write than fits and
# is blocked in its flush, says so in the file "full", and holds the FIFO
# open without reading until it is killed.
python3 - "$IT_TMP/pipe" "$IT_TMP/reader.out" "$READ_LINES" "$IT_TMP/full" \
  >"$IT_TMP/reader.log" 2>&1 <<'EOF' &
import fcntl, os, struct, sys, termios, time
fifo, out, k, full = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fd = os.open(fifo, os.O_RDONLY)
buf = b""
while buf.count(b"\n") < k:
    chunk = os.read(fd, 4096)
    if not chunk:
        sys.exit("the consumer closed its stdout before writing %d lines" % k)
    buf += chunk
with open(out, "wb") as f:
    f.write(b"\n".join(buf.split(b"\n")[:k]) + b"\n")
size = fcntl.fcntl(fd, 1032)  # F_GETPIPE_SZ
deadline = time.monotonic() + 60
while True:
    pending = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
    # A blocked writer may leave up to PIPE_BUF bytes free.
    if pending >= size - 4096:
        break
    if time.monotonic() > deadline:
        sys.exit("the pipe holds %d of %d bytes after 60 s" % (pending, size))
    time.sleep(0.1)
with open(full + ".tmp", "w") as f:
    f.write("%d %d\n" % (pending, size))
os.rename(full + ".tmp", full)
time.sleep(300)
EOF
reader_pid=$!
IT_PIDS+=("$reader_pid")
"$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --ack-deadline "$ACK_DEADLINE" \
  >"$IT_TMP/pipe" 2>"$IT_TMP/run1.err" &
consumer_pid=$!
IT_PIDS+=("$consumer_pid")

reader_done() { [[ -f $IT_TMP/full ]] || ! kill -0 "$reader_pid" 2>/dev/null; }
wait_until 90 reader_done ||
  fail "the reader took no $READ_LINES lines, or the pipe did not fill, in 90 s"
[[ -f $IT_TMP/full ]] ||
  fail "the reader gave up: $(cat "$IT_TMP/reader.log")"
kill -0 "$consumer_pid" 2>/dev/null ||
  fail "consumer 1 exited while its stdout was blocked (it should wait)"
kill -KILL "$consumer_pid"
rc=0
# (bash reports a job killed by a signal on stderr; not news here)
{ reap "$consumer_pid"; } 2>/dev/null || rc=$?
expect_eq "consumer 1 exit status (SIGKILL)" "$rc" 137
kill -TERM "$reader_pid" 2>/dev/null || true
reap "$reader_pid" || true
n=$(count_lines "$IT_TMP/reader.out")
expect_eq "lines consumer 1 printed to the reader" "$n" "$READ_LINES"

# --- 2. the next consumer gets everything ------------------------------------
# Its idle limit outlasts the ack deadline of what consumer 1 held.
rc=0
"$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --ack-deadline "$ACK_DEADLINE" \
  --idle-exit "$IDLE_EXIT" >"$IT_TMP/run2.out" 2>"$IT_TMP/run2.err" || rc=$?
expect_eq "consumer 2 exit status" "$rc" 0
# Every event (duplicates allowed: at-least-once), and nothing else.
check cover-some "$IT_TMP/events.txt" "$IT_TMP/run2.out"
# Implied by the above, but this is the point of the test: what consumer 1
# printed but never acknowledged was delivered again.
while IFS= read -r line; do
  grep -qxF -- "$line" "$IT_TMP/run2.out" ||
    fail "an event consumer 1 printed, unacknowledged, never came back: ${line:0:100}"
done <"$IT_TMP/reader.out"
n=$(count_lines "$IT_TMP/run2.out")
summary=" $(summary_of "$IT_TMP/run2.err") "
[[ $summary == *" consumed=$n valid=$n toxic=0 "* ]] ||
  fail "consumer 2 printed $n events, its summary says: $summary"
log "ok: $EVENTS events, consumer 1 killed after printing $READ_LINES;" \
  "consumer 2 printed all of them ($n lines)"

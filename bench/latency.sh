#!/usr/bin/env bash
# End-to-end latency on a real Kafka broker: from an event's timestamp (its
# send time) to the consumer's output line for it, p50, p99 and p99.9, at a
# steady rate. event-consumer with its defaults, and kcat -C beside it.
# docs/BENCHMARKS.md says what the figures mean.
#
#   bench/latency.sh
#
# Environment:
#   BENCH_RESULTS           append the records here (JSON lines; default: a
#                           file in the work directory, printed at the end)
#   BENCH_REPS              runs of each tool (default 1: a run is 30 s)
#   BENCH_BIN               where event-consumer is (default <repo>/build/bin)
#   BENCH_LATENCY_RATE      events a second (default 10000)
#   BENCH_LATENCY_SECONDS   seconds measured per run (default 30)
#   BENCH_LATENCY_WARMUP    seconds sent before those, left out (default 3)
#   BENCH_LATENCY_TOOLS     the tools, in order (default "event-consumer
#                           kcat"; kcat is left out when not installed)
#   BENCH_CONSUMER_ARGS     more event-consumer arguments (split on blanks),
#                           e.g. "-X fetch.wait.max.ms=10"
#   BENCH_PRODUCER_ARGS     more sender settings, e.g. "-X linger.ms=5"
#   KAFKA_HOME_DIR, KAFKA_PORT, BENCH_VENV, BENCH_KEEP, TMPDIR: bench/lib.sh
#
# What it does, for each repetition and tool (alternating: rep 1 A B, rep 2
# A B...):
#  1. A fresh topic of one partition (made before the run, untimed).
#  2. The consumer, its stdout into a pipe read by bench/py/latency_read.py,
#     which stamps each read on arrival (CLOCK_REALTIME) and parses later:
#       event-consumer -b B -t T -g <fresh group> -n N --idle-exit 10
#                      (its defaults: no -X; stdout sink, validation on)
#       kcat -C -b B -t T -p 0 -o beginning -c N -u   (-u: unbuffered output,
#                      else stdio holds lines back in a pipe)
#     The sender starts once the consumer is ready: "assigned 1
#     partition(s)" in event-consumer's log, "Reached end of topic" in
#     kcat's.
#  3. bench/py/latency_send.py (Python confluent-kafka in the bench
#     virtualenv) sends N = RATE x (WARMUP + SECONDS) events, event n due at
#     start + n / RATE, each with a timestamp to the microsecond read just
#     before produce() (event-producer -r stamps to the millisecond, too
#     coarse for a p50 of about a millisecond) and linger.ms=1 (the
#     sender's header says why).
#  4. One record a run, appended to BENCH_RESULTS: section e2e, tool,
#     rep, rate, p50_ms, p99_ms, p999_ms, max_ms, count (lines measured:
#     the first WARMUP seconds' events are left out), errors (measured
#     events that never came out, plus lines that are not the sender's),
#     and the sender's view: send_ack_p50_ms and send_ack_p99_ms (its
#     delivery reports' latency, librdkafka's: the produce round trip, the
#     first leg of the figure), send_late_p99_ms, sent_per_s.
# Sender, broker, consumer and reader share the machine; both ends read
# the same clock, so no clock skew is in the figures.
#
# Needs: python3 (venv), a build of the project, kcat for the peer, and
# what scripts/kafka.sh needs (scripts/setup.sh --test installs it all).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly send_py=$repo_root/bench/py/latency_send.py
readonly read_py=$repo_root/bench/py/latency_read.py

log() { printf 'latency.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 0 ]] || { sed -n '7,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
reps=${BENCH_REPS:-1}
bin=${BENCH_BIN:-$repo_root/build/bin}
rate=${BENCH_LATENCY_RATE:-10000}
seconds=${BENCH_LATENCY_SECONDS:-30}
warmup=${BENCH_LATENCY_WARMUP:-3}
read -ra tools <<<"${BENCH_LATENCY_TOOLS:-event-consumer kcat}"
read -ra consumer_args <<<"${BENCH_CONSUMER_ARGS:-}"
read -ra producer_args <<<"${BENCH_PRODUCER_ARGS:-}"
[[ $reps =~ ^[1-9][0-9]?$ ]] || die "BENCH_REPS must be 1 to 99, got '$reps'"
for v in rate seconds; do
  [[ ${!v} =~ ^[1-9][0-9]{0,6}$ ]] || die "$v must be a whole number from 1, got '${!v}'"
done
[[ $warmup =~ ^[0-9]{1,3}$ ]] || die "BENCH_LATENCY_WARMUP must be a whole number, got '$warmup'"
consumer=$bin/event-consumer
[[ -x $consumer ]] ||
  die "no $consumer; build first: cmake -S $repo_root -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j (or set BENCH_BIN)"
if ! command -v kcat >/dev/null; then
  kept=()
  for t in "${tools[@]}"; do [[ $t == kcat ]] || kept+=("$t"); done
  ((${#kept[@]} < ${#tools[@]})) && log "kcat not installed: measuring without it"
  tools=("${kept[@]}")
fi
((${#tools[@]})) || die "no tool to measure"

# ------------------------------------------------- work directory, services

consumer_pid=
reader_pid=
# shellcheck disable=SC2317 # called by bench_cleanup
bench_on_exit() {
  local pid
  for pid in $consumer_pid $reader_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
# shellcheck source=lib.sh
source "$repo_root/bench/lib.sh"
results=${BENCH_RESULTS:-$work/results.jsonl}
touch "$results"
# The table at the end shows this run's records only.
results_before=$(wc -l <"$results")

bench_kafka
bench_venv

total=$((rate * (seconds + warmup)))
skip=$((rate * warmup))
stamp=$(date +%s)-$$
topics=()
for ((rep = 1; rep <= reps; rep++)); do
  for tool in "${tools[@]}"; do topics+=("bench-latency-$stamp-$tool-$rep"); done
done
log "creating ${#topics[@]} topic(s) of one partition"
# The admin client of the venv: one connection for them all (kafka.sh
# topic starts a JVM for each, about 5 s).
"$bench_python" - "$brokers" "${topics[@]}" <<'EOF' || die "creating the topics failed"
import sys
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in admin.create_topics([NewTopic(t, 1, 1) for t in sys.argv[2:]]).values():
    f.result(30)
EOF

# wait_for FILE PATTERN PID: until PATTERN is in FILE (30 s at most), while
# PID lives.
wait_for() {
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { tail -n 20 "$1" >&2; die "the consumer exited before it was ready"; }
    sleep 0.1
  done
  tail -n 20 "$1" >&2
  die "the consumer was not ready after 30 s"
}

# measure TOOL REP: one run; the reader appends its record to $results.
measure() {
  local tool=$1 rep=$2 topic=bench-latency-$stamp-$1-$2 out=$work/$1.$2 rc=0
  local cmd ready
  case $tool in
    event-consumer)
      cmd=("$consumer" -b "$brokers" -t "$topic" -g "bench-latency-$stamp-$rep"
        -n "$total" --idle-exit 10 "${consumer_args[@]}")
      ready='assigned 1 partition' ;;
    kcat)
      cmd=(kcat -C -b "$brokers" -t "$topic" -p 0 -o beginning -c "$total" -u)
      ready='Reached end of topic' ;;
    *) die "unknown tool '$tool' (event-consumer, kcat)" ;;
  esac
  mkfifo "$out.pipe"
  "$bench_python" "$read_py" "$total" "$skip" "$out.rec" section=e2e \
    "tool=$tool" "rep=$rep" "rate=$rate" "seconds=$seconds" \
    <"$out.pipe" >"$out.read" 2>"$out.read.err" &
  reader_pid=$!
  "${cmd[@]}" >"$out.pipe" 2>"$out.log" &
  consumer_pid=$!
  wait_for "$out.log" "$ready" "$consumer_pid"
  "$bench_python" "$send_py" "$brokers" "$topic" "$rate" "$((seconds + warmup))" \
    "${producer_args[@]}" >"$out.send" 2>"$out.send.err" ||
    { cat "$out.send" "$out.send.err" >&2; die "the sender failed ($tool run $rep)"; }
  wait "$reader_pid" || rc=$?
  reader_pid=
  ((rc == 0)) || { cat "$out.read.err" >&2; die "the reader failed ($tool run $rep)"; }
  # event-consumer exits after N messages, kcat after -c N; one that lost
  # some is stopped here (the record counts them as errors).
  kill -TERM "$consumer_pid" 2>/dev/null || true
  wait "$consumer_pid" || true
  consumer_pid=
  # The record, with the sender's view added: its delivery reports'
  # latency (the produce round trip, the first leg of the figure) and how
  # late it sent.
  log "$(printf 'run %d %-15s' "$rep" "$tool") $(python3 -c '
import json, sys
r, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
r.update(send_ack_p50_ms=s["ack_ms"]["p50"], send_ack_p99_ms=s["ack_ms"]["p99"],
         send_late_p99_ms=s["late_ms"]["p99"], sent_per_s=s["achieved_per_s"])
with open(sys.argv[3], "a", encoding="utf-8") as f:
    f.write(json.dumps(r) + "\n")
print("p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  count %d  errors %d  (sent %.0f/s; delivery reports p50 %.3f ms, p99 %.3f ms)" % (
    r["p50_ms"], r["p99_ms"], r["p999_ms"], r["max_ms"], r["count"], r["errors"],
    s["achieved_per_s"], s["ack_ms"]["p50"], s["ack_ms"]["p99"]))' "$out.rec" "$out.send" "$results")"
}

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
log "$rate events/s for $seconds s (+$warmup s warm-up) per run, $reps repetition(s): ${tools[*]}"
for ((rep = 1; rep <= reps; rep++)); do
  for tool in "${tools[@]}"; do
    measure "$tool" "$rep"
  done
done
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

echo
echo "end-to-end latency (event timestamp to the consumer's output line), $rate events/s for $seconds s, $reps repetition(s), $(date -u +%Y-%m-%d); load average before $load_before, after $load_after"
[[ ${#consumer_args[@]} -eq 0 ]] || echo "event-consumer extra arguments: ${consumer_args[*]}"
tail -n +$((results_before + 1)) "$results" | python3 -c '
import json, sys
print("%-15s %4s %8s %8s %8s %8s %8s %7s" % ("tool", "rep", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "count", "errors"))
for line in sys.stdin:
    r = json.loads(line)
    if r.get("section") == "e2e":
        print("%-15s %4d %8.3f %8.3f %8.3f %8.3f %8d %7d" % (r["tool"], r["rep"], r["p50_ms"], r["p99_ms"], r["p999_ms"], r.get("max_ms", 0), r["count"], r["errors"]))'

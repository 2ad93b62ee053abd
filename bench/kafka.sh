#!/usr/bin/env bash
# Kafka throughput, side by side, on a real local broker: publishing with
# event-producer --input, kcat -P and the Python confluent-kafka producer;
# consuming with event-consumer (validation on), kcat -C and the Python
# confluent-kafka consumer (json.loads and the four field checks); and
# scale-out, 1, 2 and 4 event-consumer processes in one group. Appends one
# record a run to BENCH_RESULTS (bench/report.py reads them); bench/run.sh
# runs it, and it runs standalone too:
#
#   BENCH_RESULTS=FILE bench/kafka.sh
#
# For each size (BENCH_SIZES, default "100000 300000 1000000"): the events
# file (bench/gen-events.py, 5% toxic; taken from BENCH_EVENTS_DIR as
# events-SIZE.ndjson when there), then BENCH_REPS repetitions (default 3),
# each running every tool once in turn:
#  - produce: into a fresh topic of BENCH_PARTITIONS partitions (default 4),
#    created before the clock starts; afterwards every topic must hold SIZE
#    messages, else the bench fails.
#  - consume: a topic filled once per size with event-producer (untimed, then
#    read once untimed to warm the broker and page cache), each run a fresh
#    group reading from the beginning with fetch.wait.max.ms=10: event-consumer
#    -n SIZE (stdout to /dev/null; its Summary must say consumed=SIZE), kcat
#    -C -e -o beginning (its end-of-partition offsets must add up to SIZE),
#    bench/py/kafka_consume.py (must report consumed=SIZE).
# Then scale-out on the consume topic of BENCH_SCALE_SIZE (default the
# largest size): 1, 2 and 4 event-consumer processes in a fresh group,
# timed until the group has committed every message (bench/py/kafka_scale.py).
#
# Every run is timed as a whole process (bench/measure.py): start-up,
# connecting and joining the group are in the figures.
#
# Environment: BENCH_RESULTS (required), BENCH_REPS, BENCH_BIN (the built
# binaries, default <repo>/build/bin), BENCH_SIZES, BENCH_PARTITIONS,
# BENCH_SCALE_SIZE (0: no scale-out), BENCH_EVENTS_DIR, and bench/lib.sh's
# (KAFKA_HOME_DIR, KAFKA_PORT, BENCH_KEEP, TMPDIR).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

results=${BENCH_RESULTS:?BENCH_RESULTS must name the results file}
reps=${BENCH_REPS:-3}
bin=${BENCH_BIN:-$repo_root/build/bin}
read -r -a sizes <<<"${BENCH_SIZES:-100000 300000 1000000}"
partitions=${BENCH_PARTITIONS:-4}
largest=0
for n in "${sizes[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES: '$n' is not a whole number"
  ((n > largest)) && largest=$n
done
scale_size=${BENCH_SCALE_SIZE:-$largest}
[[ $reps =~ ^[1-9][0-9]?$ ]] || die "BENCH_REPS must be 1 to 99, got '$reps'"
[[ $partitions =~ ^[1-9][0-9]?$ ]] || die "BENCH_PARTITIONS must be 1 to 99"
for tool in event-producer event-consumer; do
  [[ -x $bin/$tool ]] || die "$bin/$tool not found (build the project, or set BENCH_BIN)"
done
command -v kcat >/dev/null || die "kcat not found (scripts/setup.sh --test installs it)"

# shellcheck source=lib.sh
source "$repo_root/bench/lib.sh"
bench_kafka
bench_venv
readonly measure=(python3 "$repo_root/bench/measure.py")
readonly py=$repo_root/bench/py
# Unique topic and group names for this run, so that a reused broker never
# hands a run someone else's messages or offsets.
run_id=$$-$(date +%s)
readonly run_id
readonly fetch=(-X fetch.wait.max.ms=10)

# events_file SIZE: the path of the events file of SIZE, made if missing.
events_file() {
  local f=${BENCH_EVENTS_DIR:-$work}/events-$1.ndjson
  if [[ ! -s $f ]]; then
    log "generating $1 events into $f"
    python3 "$repo_root/bench/gen-events.py" "$1" "$f" 2>/dev/null
  fi
  printf '%s\n' "$f"
}

# timed RECORD_FIELDS... -- CMD...: measure.py into a scratch file; the
# caller checks the run, then keep_record appends it to the results.
timed() {
  : >"$work/record.json"
  "${measure[@]}" "$work/record.json" "$@"
}
keep_record() { cat "$work/record.json" >>"$results"; }

topics() { "$bench_python" "$py/kafka_topics.py" "$brokers" "$@"; }

for size in "${sizes[@]}"; do
  file=$(events_file "$size")
  # Payload bytes: the file less its newlines.
  bytes=$(($(stat -c %s "$file") - size))
  common=(size="$size" events="$size" bytes="$bytes")

  # ---------------------------------------------------------- produce
  produce_topics=()
  for ((rep = 1; rep <= reps; rep++)); do
    for tool in event-producer kcat python; do
      produce_topics+=("bench-p-$run_id-$size-$rep-$tool")
    done
  done
  fill=bench-c-$run_id-$size
  log "size $size: creating ${#produce_topics[@]} topics of $partitions partition(s)"
  topics "$partitions" "${produce_topics[@]}" "$fill"

  for ((rep = 1; rep <= reps; rep++)); do
    for tool in event-producer kcat python; do
      t=bench-p-$run_id-$size-$rep-$tool
      case $tool in
        event-producer)
          timed section=produce tool=event-producer rep="$rep" "${common[@]}" \
            stdout=/dev/null -- "$bin/event-producer" -b "$brokers" -t "$t" \
            --input "$file" 2>"$work/producer.log" ||
            { tail -n 5 "$work/producer.log" >&2; die "event-producer failed"; }
          grep -q "delivered=$size failed=0" "$work/producer.log" ||
            die "event-producer did not deliver $size events"
          ;;
        kcat)
          timed section=produce tool=kcat rep="$rep" "${common[@]}" -- \
            kcat -P -b "$brokers" -t "$t" -l "$file" 2>"$work/kcat.log" ||
            { tail -n 5 "$work/kcat.log" >&2; die "kcat -P failed"; }
          ;;
        python)
          timed section=produce tool=python rep="$rep" "${common[@]}" -- \
            "$bench_python" "$py/kafka_produce.py" "$brokers" "$t" "$file" \
            2>"$work/pyprod.log" ||
            { tail -n 5 "$work/pyprod.log" >&2; die "kafka_produce.py failed"; }
          ;;
      esac
      keep_record
      log "produce $size rep $rep $tool: $(tail -n 1 "$results" | grep -o '"wall_s": [0-9.]*')"
    done
  done
  # Every produced topic must hold exactly SIZE messages.
  topics count "${produce_topics[@]}" >"$work/counts.txt"
  while read -r t n; do
    [[ $n == "$size" ]] || die "topic $t holds $n messages, not $size"
  done <"$work/counts.txt"

  # ---------------------------------------------------------- consume
  "$bin/event-producer" -b "$brokers" -t "$fill" --input "$file" \
    >/dev/null 2>"$work/fill.log" ||
    { tail -n 5 "$work/fill.log" >&2; die "filling $fill failed"; }
  grep -q "delivered=$size failed=0" "$work/fill.log" ||
    die "filling $fill: not every event delivered"
  # Untimed warm-up read: the broker's fetch path and the page cache.
  kcat -C -b "$brokers" -t "$fill" -e -o beginning -q >/dev/null

  for ((rep = 1; rep <= reps; rep++)); do
    for tool in event-consumer kcat python; do
      group=bench-g-$run_id-$size-$rep-$tool
      case $tool in
        event-consumer)
          # --idle-exit only as a safety net: a run ending on it has fewer
          # than SIZE messages and fails below.
          timed section=consume tool=event-consumer rep="$rep" "${common[@]}" \
            stdout=/dev/null -- "$bin/event-consumer" -b "$brokers" -t "$fill" \
            -g "$group" -n "$size" --idle-exit 30 "${fetch[@]}" \
            2>"$work/consumer.log" ||
            { tail -n 5 "$work/consumer.log" >&2; die "event-consumer failed"; }
          grep -q "Summary: consumed=$size " "$work/consumer.log" ||
            { tail -n 3 "$work/consumer.log" >&2; die "event-consumer did not consume $size"; }
          ;;
        kcat)
          timed section=consume tool=kcat rep="$rep" "${common[@]}" \
            stdout=/dev/null -- kcat -C -b "$brokers" -t "$fill" -e \
            -o beginning "${fetch[@]}" 2>"$work/kcat.log" ||
            { tail -n 5 "$work/kcat.log" >&2; die "kcat -C failed"; }
          # "% Reached end of topic T [P] at offset O": from offset 0, the
          # offsets add up to the messages read.
          got=$(sed -n 's/.*Reached end of topic .* at offset \([0-9]*\).*/\1/p' \
            "$work/kcat.log" | awk '{ s += $1 } END { print s + 0 }')
          [[ $got == "$size" ]] || die "kcat -C read $got messages, not $size"
          ;;
        python)
          timed section=consume tool=python rep="$rep" "${common[@]}" -- \
            "$bench_python" "$py/kafka_consume.py" "$brokers" "$fill" \
            "$group" "$size" "${fetch[@]}" 2>"$work/pycons.log" ||
            { tail -n 5 "$work/pycons.log" >&2; die "kafka_consume.py failed"; }
          grep -q "consumed=$size " "$work/pycons.log" ||
            die "kafka_consume.py did not consume $size"
          ;;
      esac
      keep_record
      log "consume $size rep $rep $tool: $(tail -n 1 "$results" | grep -o '"wall_s": [0-9.]*')"
    done
  done

  # ---------------------------------------------------------- scale-out
  if [[ $size == "$scale_size" ]]; then
    ((partitions >= 4)) || log "warning: scale-out on $partitions partition(s): consumers past that sit idle"
    for ((rep = 1; rep <= reps; rep++)); do
      for k in 1 2 4; do
        BENCH_BYTES=$bytes "$bench_python" "$py/kafka_scale.py" "$results" \
          "$bin/event-consumer" "$brokers" "$fill" \
          "bench-s-$run_id-$rep-$k" "$k" "$rep" "$size" "$work" \
          "${fetch[@]}" || die "scale-out with $k consumers failed"
      done
    done
  fi
done
log "done"

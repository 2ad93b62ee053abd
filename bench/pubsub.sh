#!/usr/bin/env bash
# Pub/Sub throughput on Google's emulator: event-producer and event-consumer
# (--transport pubsub) beside Google's Python client (publisher, and its
# streaming-pull subscriber) and a plain REST pull loop. Appends one record
# a run to BENCH_RESULTS (sections pubsub-produce and pubsub-consume; see
# bench/report.py and docs/BENCHMARKS.md).
#
#   bench/pubsub.sh
#
# What it does:
#  1. Starts the emulator (scripts/pubsub-emulator.sh) in PUBSUB_HOME_DIR on
#     PUBSUB_EMULATOR_PORT, or reuses the one running there, and stops only
#     what it started.
#  2. Writes BENCH_PUBSUB_EVENTS events (bench/gen-events.py; 5% toxic),
#     unless BENCH_EVENTS_FILE names a file to use.
#  3. Warms the emulator up (untimed: a JVM's first requests are slow):
#     2,000 of the events through a topic and subscription of their own.
#  4. Publish, each repetition each tool into a fresh topic without
#     subscriptions (what the emulator keeps costs the same for both):
#     event-producer --input, then bench/py/pubsub_publish.py.
#  5. Consume: one topic with a subscription per tool and repetition, all
#     filled by one untimed publish; each run drains its own: event-consumer
#     (validation on, stdout /dev/null, --max-messages N), then
#     bench/py/pubsub_subscribe.py, then bench/py/pubsub_rest_pull.py. Each
#     must report N messages, or the bench fails.
#
# Environment: BENCH_RESULTS (required: the JSON lines file to append to),
# BENCH_REPS (default 3), BENCH_BIN (event-producer and event-consumer;
# default <repo>/build/bin), BENCH_PUBSUB_EVENTS (default 40000: the Python
# subscriber reads about 2,000 a second, and runs once a repetition),
# BENCH_EVENTS_FILE, PUBSUB_HOME_DIR (default /tmp/event-ingest-bench/pubsub),
# PUBSUB_EMULATOR_PORT (default 48085), BENCH_VENV, BENCH_KEEP, TMPDIR.
#
# Needs: the Pub/Sub emulator (scripts/setup.sh), curl, python3 with venv.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly py=$repo_root/bench/py

log() { printf 'pubsub.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

results=${BENCH_RESULTS:?BENCH_RESULTS must name the results file}
reps=${BENCH_REPS:-3}
bin=${BENCH_BIN:-$repo_root/build/bin}
events=${BENCH_PUBSUB_EVENTS:-40000}
for v in reps events; do
  [[ ${!v} =~ ^[1-9][0-9]{0,8}$ ]] || die "$v must be a whole number from 1, got '${!v}'"
done
for b in event-producer event-consumer; do
  [[ -x $bin/$b ]] || die "no $bin/$b; build first (cmake --build build) or set BENCH_BIN"
done
command -v curl >/dev/null || die "curl not found"
export PUBSUB_HOME_DIR=${PUBSUB_HOME_DIR:-/tmp/event-ingest-bench/pubsub}
export PUBSUB_EMULATOR_PORT=${PUBSUB_EMULATOR_PORT:-48085}

# shellcheck source=lib.sh
source "$repo_root/bench/lib.sh"

bench_service "$repo_root/scripts/pubsub-emulator.sh" "Pub/Sub emulator" \
  "$PUBSUB_HOME_DIR" "$PUBSUB_EMULATOR_PORT"
host=${bench_status##*PUBSUB_EMULATOR_HOST=}
host=${host%%[[:space:]]*}
[[ $host =~ ^[^[:space:]]+:[0-9]+$ ]] ||
  die "cannot tell the emulator's address from: $bench_status"
# The Python client finds the emulator here; our tools get --emulator-host.
export PUBSUB_EMULATOR_HOST=$host
bench_venv

project=bench-project
run_id=$(date +%s)-$$

# api METHOD PATH [BODY]: one call to the emulator's REST API.
api() {
  curl -sS --fail --max-time 30 -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} -o /dev/null "http://$host/v1/projects/$project/$2" ||
    die "$1 $2 failed"
}

if [[ -n ${BENCH_EVENTS_FILE:-} ]]; then
  file=$BENCH_EVENTS_FILE
  events=$(wc -l <"$file")
else
  file=$work/events.ndjson
  python3 "$repo_root/bench/gen-events.py" "$events" "$file"
fi
# Payload bytes: the lines without their newlines.
bytes=$(($(wc -c <"$file") - events))
log "$events events, $bytes payload bytes, $reps repetition(s)"

ours=(--transport pubsub --emulator-host "$host" --project "$project")

# ------------------------------------------------------------------ warm-up

head -n 2000 "$file" >"$work/warmup.ndjson"
warm=$(wc -l <"$work/warmup.ndjson")
api PUT "topics/warmup-$run_id"
api PUT "subscriptions/warmup-$run_id" \
  "{\"topic\":\"projects/$project/topics/warmup-$run_id\"}"
log "warm-up: $warm events published and consumed (untimed)"
{ "$bin/event-producer" "${ours[@]}" --pubsub-topic "warmup-$run_id" \
  --input "$work/warmup.ndjson" >/dev/null &&
  "$bin/event-consumer" "${ours[@]}" --subscription "warmup-$run_id" \
    --max-messages "$warm" >/dev/null; } 2>"$work/warmup.err" ||
  { tail -n 20 "$work/warmup.err" >&2; die "warm-up failed"; }
api DELETE "subscriptions/warmup-$run_id"
api DELETE "topics/warmup-$run_id"

# ------------------------------------------------------------------ publish

for ((rep = 1; rep <= reps; rep++)); do
  for tool in event-producer python-pubsub; do
    topic=bench-pub-$run_id-$rep-$tool
    api PUT "topics/$topic"
    log "publish rep $rep: $tool"
    common=("$results" section=pubsub-produce "tool=$tool" "rep=$rep"
      "events=$events" "bytes=$bytes" stdout=/dev/null --)
    case $tool in
      event-producer)
        python3 "$repo_root/bench/measure.py" "${common[@]}" \
          "$bin/event-producer" "${ours[@]}" --pubsub-topic "$topic" \
          --input "$file" ;;
      python-pubsub)
        python3 "$repo_root/bench/measure.py" "${common[@]}" \
          "$bench_python" "$py/pubsub_publish.py" "$project" "$topic" "$file" ;;
    esac
    api DELETE "topics/$topic"
  done
done

# ------------------------------------------------------------------ consume

consumers=(event-consumer python-pubsub python-rest-pull)
topic=bench-sub-$run_id
api PUT "topics/$topic"
for ((rep = 1; rep <= reps; rep++)); do
  for tool in "${consumers[@]}"; do
    api PUT "subscriptions/sub-$run_id-$rep-$tool" \
      "{\"topic\":\"projects/$project/topics/$topic\",\"ackDeadlineSeconds\":60}"
  done
done
log "filling $((reps * ${#consumers[@]})) subscriptions (untimed)"
"$bin/event-producer" "${ours[@]}" --pubsub-topic "$topic" --input "$file" >/dev/null \
  2>"$work/fill.err" || { tail -n 20 "$work/fill.err" >&2; die "filling failed"; }

# got FILE: the count of "N received ..." in FILE, or of the consumer's
# "consumed=N" summary.
got() {
  sed -n -e 's/^\([0-9][0-9]*\) received.*/\1/p' \
    -e 's/.*Summary: consumed=\([0-9][0-9]*\).*/\1/p' "$1" | tail -n 1
}

for ((rep = 1; rep <= reps; rep++)); do
  for tool in "${consumers[@]}"; do
    sub=sub-$run_id-$rep-$tool
    out=$work/consume-$rep-$tool
    log "consume rep $rep: $tool"
    common=("$results" section=pubsub-consume "tool=$tool" "rep=$rep"
      "events=$events" "bytes=$bytes")
    case $tool in
      event-consumer)
        # stderr (the summary) to a file; exec keeps the shell out of the
        # measured process tree's cost.
        # shellcheck disable=SC2016 # expanded by that bash
        python3 "$repo_root/bench/measure.py" "${common[@]}" \
          stdout=/dev/null -- bash -c 'exec "$@" 2>"$0"' "$out" \
          "$bin/event-consumer" "${ours[@]}" --subscription "$sub" \
          --max-messages "$events" ;;
      python-pubsub)
        python3 "$repo_root/bench/measure.py" "${common[@]}" "stdout=$out" -- \
          "$bench_python" "$py/pubsub_subscribe.py" "$project" "$sub" "$events" ;;
      python-rest-pull)
        python3 "$repo_root/bench/measure.py" "${common[@]}" "stdout=$out" -- \
          "$bench_python" "$py/pubsub_rest_pull.py" "$host" "$project" "$sub" "$events" ;;
    esac
    n=$(got "$out")
    [[ $n == "$events" ]] || { cat "$out" >&2; die "$tool got ${n:-no count}, not $events messages"; }
    api DELETE "subscriptions/$sub"
  done
done
api DELETE "topics/$topic"
log "done: $((reps * 5)) records appended to $results"

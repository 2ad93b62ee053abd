#!/usr/bin/env bash
# The whole benchmark in one run, on real local services: event-ingest
# beside the tools a user would compare it with, alternating the tools
# within each repetition, then one table of medians with min and max, the
# ratios, the issue's targets, and charts. docs/BENCHMARKS.md says what the
# figures mean and holds the latest results.
#
#   bench/run.sh [--quick] [--only SECTION[,SECTION...]]
#
#   --quick         a smoke test: 20,000 events, 1 repetition (BENCH_QUICK=1
#                   for the sub-benchmarks, which shorten their runs)
#   --only LIST     run only these sections: validate, kafka, latency,
#                   pubsub, postgres, gateway
#
# In order: builds the project (or uses BENCH_BIN), starts a Kafka broker
# (bench/lib.sh; reused if one runs in KAFKA_HOME_DIR) and the Python
# virtualenv of bench/requirements.txt, writes the event files
# (bench/gen-events.py), then runs
#   validate  bin/validate-bench on each file: the validator and a bare
#             json_loadb loop over the events in memory, the single-core
#             ceiling
#   kafka     bench/kafka.sh: produce, consume and scale-out
#   latency, pubsub, postgres, gateway: bench/latency.sh, bench/pubsub.sh,
#             bench/postgres-sink.sh, bench/gateway.sh, each if present and
#             executable
# and last bench/report.py, which prints the table. A section that fails is
# reported and the others still run; run.sh then exits 1.
#
# Output, in BENCH_OUT (default bench/out/<UTC timestamp>): results.jsonl
# (every run, one JSON record a line), results.txt (the printed report),
# results.md (the same in markdown, for docs/BENCHMARKS.md),
# throughput.svg, cost-curve.svg, machine.txt, and a log per section.
#
# Environment: BENCH_OUT; BENCH_BIN (built binaries to use; unset: build
# BENCH_BUILD_DIR, default <repo>/build, and use its bin/); BENCH_REPS
# (default 3); BENCH_SIZES (default "100000 300000 1000000");
# BENCH_SCALE_SIZE (default the largest size); KAFKA_HOME_DIR, KAFKA_PORT,
# BENCH_KEEP, TMPDIR (bench/lib.sh). The event files need about 0.35 KB
# per event of TMPDIR (300 MB at the default sizes).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'run.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
usage() {
  sed -n '8,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

readonly all_sections=(validate kafka latency pubsub postgres gateway)
only=
quick=0
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --only)
      (($# >= 2)) || usage
      only=$2
      shift
      ;;
    --only=*) only=${1#--only=} ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
  shift
done
sections=("${all_sections[@]}")
if [[ -n $only ]]; then
  IFS=, read -r -a sections <<<"$only"
  for s in "${sections[@]}"; do
    [[ " ${all_sections[*]} " == *" $s "* ]] ||
      die "--only: unknown section '$s' (one of: ${all_sections[*]})"
  done
fi
wanted() { [[ " ${sections[*]} " == *" $1 "* ]]; }

if ((quick)); then
  export BENCH_QUICK=1
  export BENCH_REPS=${BENCH_REPS:-1}
  export BENCH_SIZES=${BENCH_SIZES:-20000}
fi
export BENCH_REPS=${BENCH_REPS:-3}
export BENCH_SIZES=${BENCH_SIZES:-100000 300000 1000000}
out=${BENCH_OUT:-$repo_root/bench/out/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export BENCH_RESULTS=$out/results.jsonl
: >>"$BENCH_RESULTS"
started=$(date +%s)

# ------------------------------------------------------------------ build
if [[ -z ${BENCH_BIN:-} ]]; then
  build_dir=${BENCH_BUILD_DIR:-$repo_root/build}
  log "building into $build_dir"
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    cmake -S "$repo_root" -B "$build_dir" >"$out/build.log" 2>&1 ||
      { tail -n 20 "$out/build.log" >&2; die "cmake configure failed"; }
  fi
  # Only what the benchmarks run: the tests need not build for this.
  cmake --build "$build_dir" -j "$(nproc)" --target event-producer \
    event-consumer event-gateway validate-bench >>"$out/build.log" 2>&1 ||
    { tail -n 20 "$out/build.log" >&2; die "build failed (see $out/build.log)"; }
  BENCH_BIN=$build_dir/bin
fi
export BENCH_BIN
[[ -x $BENCH_BIN/event-consumer ]] || die "no event-consumer in BENCH_BIN=$BENCH_BIN"

# shellcheck source=lib.sh
source "$repo_root/bench/lib.sh"
bench_kafka
bench_venv
# The sub-benchmarks reuse this broker (same KAFKA_HOME_DIR) and these
# event files.
export BENCH_EVENTS_DIR=$work/events
mkdir -p "$BENCH_EVENTS_DIR"
read -r -a sizes <<<"$BENCH_SIZES"
for n in "${sizes[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES: '$n' is not a whole number"
  f=$BENCH_EVENTS_DIR/events-$n.ndjson
  log "generating $n events"
  python3 "$repo_root/bench/gen-events.py" "$n" "$f" 2>>"$out/gen-events.log"
done

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  echo "memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "event-consumer: $("$BENCH_BIN/event-consumer" --version 2>&1 | head -n 1)"
  echo "kafka: $bench_status"
  echo "kcat: $(kcat -V 2>&1 | sed -n 's/^Version //p')"
  echo "python: $("$bench_python" --version 2>&1), $("$bench_python" -c \
    'import confluent_kafka as c; print("confluent-kafka", c.version()[0], "librdkafka", c.libversion()[0])')"
  echo "sizes: $BENCH_SIZES; repetitions: $BENCH_REPS; git: $(git -C "$repo_root" describe --always --dirty 2>/dev/null || echo unknown)"
} >"$out/machine.txt"

# ---------------------------------------------------------------- sections
failed=()
declare -A took

# section NAME CMD...: runs CMD with its output in OUT/NAME.log and on
# stderr; a failure is noted, not fatal.
section() {
  local name=$1 t0
  shift
  t0=$(date +%s)
  log "=== $name"
  if "$@" 2>&1 | tee "$out/$name.log" >&2; then
    :
  else
    log "section $name FAILED (see $out/$name.log)"
    failed+=("$name")
  fi
  took[$name]=$(($(date +%s) - t0))
}

run_validate() {
  local rep n
  for ((rep = 1; rep <= BENCH_REPS; rep++)); do
    for n in "${sizes[@]}"; do
      "$BENCH_BIN/validate-bench" -r "$BENCH_RESULTS" -n "$rep" -s "$n" \
        "$BENCH_EVENTS_DIR/events-$n.ndjson" || return 1
    done
  done
}

wanted validate && section validate run_validate
wanted kafka && section kafka "$repo_root/bench/kafka.sh"
for pair in latency:latency.sh pubsub:pubsub.sh postgres:postgres-sink.sh \
  gateway:gateway.sh; do
  name=${pair%%:*}
  script=$repo_root/bench/${pair#*:}
  wanted "$name" || continue
  if [[ -x $script ]]; then
    # Within the 15-minute budget: one 30-s latency run a tool (300,000
    # samples each), and the short PostgreSQL and gateway runs.
    case $name in
      latency) section "$name" env BENCH_REPS=1 "$script" ;;
      postgres | gateway) section "$name" env BENCH_BUDGET=short "$script" ;;
      *) section "$name" "$script" ;;
    esac
  else
    log "=== $name: ${script#"$repo_root"/} not present or not executable, skipped"
  fi
done

# ------------------------------------------------------------------ report
for name in "${!took[@]}"; do
  log "section $name took ${took[$name]} s"
done
log "total $(($(date +%s) - started)) s; results in $out"
python3 "$repo_root/bench/report.py" "$BENCH_RESULTS" "$out"
if ((${#failed[@]})); then
  log "failed sections: ${failed[*]}"
  exit 1
fi

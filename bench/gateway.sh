#!/usr/bin/env bash
# The latency of event-gateway's 202 on Kafka, measured by the open-loop
# client bench/gateway-load.py over loopback, and the highest rate it
# answers with no error. docs/BENCHMARKS.md says what the figures mean and
# holds the results.
#
#   bench/gateway.sh [-b BUILD_DIR] [-d SECONDS] [-s SECONDS] [-m RATE]
#                    [-p PROCESSES]
#
#   -b BUILD_DIR  where bin/event-gateway is (default <repo>/build; env
#                 BUILD_DIR, or BENCH_BIN for the bin directory itself),
#                 e.g. a -DCMAKE_BUILD_TYPE=RelWithDebInfo build
#   -d SECONDS    length of each of the two fixed-rate runs (default 60, 15
#                 with BENCH_BUDGET=short; env BENCH_DURATION; 30 halves
#                 the time)
#   -s SECONDS    length of each step of the step-up (default 15, 5 with
#                 BENCH_BUDGET=short; env BENCH_STEP)
#   -m RATE       the step-up stops there, requests a minute (default
#                 640000; env BENCH_MAX_RATE)
#   -p PROCESSES  client processes for the step-up (default 2; env
#                 BENCH_PROCESSES): one Python process offers a few hundred
#                 requests a second at most
#
# What it does (with BENCH_REPS=R, default 1, steps 3 and 4 R times; the
# step-up only the first time with BENCH_BUDGET=short):
#  1. Uses the Kafka broker at KAFKA_BOOTSTRAP_SERVERS when set; otherwise
#     starts one (scripts/kafka.sh) in a state directory of its own, or
#     reuses the one running there, and stops only what it started.
#  2. Starts event-gateway (its defaults: --publish-timeout 10, 1 MiB
#     bodies, no API keys, linger.ms 0; BENCH_GATEWAY_ARGS adds flags) on
#     127.0.0.1:BENCH_GATEWAY_PORT (48080), publishing to a fresh topic,
#     and warms it up with 200 requests (untimed: the topic is made on
#     first use, the connections opened).
#  3. Runs gateway-load.py (half JSON, half text/plain, 4 tenants; each
#     worker one keep-alive connection) at 1,000 and at 10,000 requests a
#     minute for -d SECONDS each, one process of 8 workers.
#  4. Steps up from 5,000 requests a minute, doubling, -s SECONDS a step
#     with PROCESSES processes of 16 workers, until a step has an answer
#     other than the contract's 202 or the client falls behind its schedule
#     (more than 1% of the requests started over 10 ms late: the rate was
#     no longer offered), or -m RATE is passed. The highest step with every
#     request accepted, on schedule, is the figure; which limit ended the
#     climb is printed with it (a client that cannot keep up, on a small
#     machine, says more about Python than about the gateway).
#  5. Prints one table, a row a run: offered and achieved rate, requests,
#     accepted, errors; the client's latency of the 202 (from writing the
#     request to reading the whole answer: p50, p99, p99.9, max) and its
#     late starts; the gateway's own view from its request histogram
#     (/metrics, before and after the run: the bucket bounds its p50 and
#     p99 fall in, the share answered within 10 ms) and its CPU time per
#     request. SIGTERMs the gateway, which must exit 0.
#  6. With BENCH_RESULTS set, appends JSON lines to that file (bench/
#     report.py reads them): for each fixed-rate run, section "gateway",
#     tool "event-gateway", rep, rate (requests a minute), p50_ms, p99_ms,
#     p999_ms, max_ms, count (requests), errors (not accepted), late (started
#     over 10 ms late), cpu_us (the gateway's per request); for each
#     step-up, section "gateway-max", tool, rep, max_rate_per_min (the
#     highest step with every request accepted on schedule; 0: none),
#     ended (what ended the climb), step_s.
#
# Environment: BENCH_RESULTS (see 6.), BENCH_REPS (see above),
# BENCH_BUDGET=short (bench/run.sh's budget of 3 minutes: -d 15 -s 5 unless
# given, the step-up once; about 2 minutes with 3 repetitions and a
# broker running), BENCH_GATEWAY_PORT (the gateway's loopback port,
# default 48080), KAFKA_BOOTSTRAP_SERVERS (a broker to use as it is),
# KAFKA_HOME_DIR and KAFKA_PORT (the broker started here otherwise; default
# /tmp/event-ingest-bench/kafka, port 49092), BENCH_GATEWAY_ARGS (more
# event-gateway flags, split on blanks, e.g. "-X linger.ms=5"), BENCH_KEEP=1
# (keep the work directory: the gateway's log, each run's JSON summary and
# scrapes), TMPDIR.
#
# Needs: python3, curl, a build of the project, and what scripts/kafka.sh
# needs when it starts a broker (scripts/setup.sh --kafka).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly load_py=$repo_root/bench/gateway-load.py

log() { printf 'gateway.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
  sed -n '7,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

budget=${BENCH_BUDGET:-}
[[ -z $budget || $budget == short ]] || die "BENCH_BUDGET must be short or unset, got '$budget'"
build_dir=${BUILD_DIR:-$repo_root/build}
bin_dir=${BENCH_BIN:-}
if [[ $budget == short ]]; then
  duration=${BENCH_DURATION:-15}
  step=${BENCH_STEP:-5}
else
  duration=${BENCH_DURATION:-60}
  step=${BENCH_STEP:-15}
fi
reps=${BENCH_REPS:-1}
port=${BENCH_GATEWAY_PORT:-48080}
max_rate=${BENCH_MAX_RATE:-640000}
step_procs=${BENCH_PROCESSES:-2}
while getopts 'b:d:s:m:p:h' opt; do
  case $opt in
    b) build_dir=$OPTARG bin_dir= ;;
    d) duration=$OPTARG ;;
    s) step=$OPTARG ;;
    m) max_rate=$OPTARG ;;
    p) step_procs=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage
read -ra gateway_args <<<"${BENCH_GATEWAY_ARGS:-}"
for v in duration step max_rate step_procs reps port; do
  [[ ${!v} =~ ^[1-9][0-9]{0,6}$ ]] || die "$v must be a whole number from 1, got '${!v}'"
done

gateway=${bin_dir:-$build_dir/bin}/event-gateway
[[ -x $gateway ]] ||
  die "no $gateway; build first: cmake -S $repo_root -B $build_dir -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $build_dir -j"
command -v curl >/dev/null || die "curl not found"

# ------------------------------------------------- work directory, services

gateway_pid=
# shellcheck disable=SC2317 # called by bench_cleanup
bench_on_exit() {
  if [[ -n $gateway_pid ]]; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
}
# shellcheck source=lib.sh
source "$repo_root/bench/lib.sh"

if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
  brokers=$KAFKA_BOOTSTRAP_SERVERS
  log "using the Kafka broker at $brokers (KAFKA_BOOTSTRAP_SERVERS)"
else
  bench_kafka
fi

# As a server binds (SO_REUSEADDR): a connection of a while ago that used
# the port as its own end (it is in the ephemeral range) does not count.
python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null ||
  die "port $port is in use (BENCH_GATEWAY_PORT names another)"
topic=bench-gateway-$(date +%s)-$$
"$gateway" --listen "127.0.0.1:$port" -b "$brokers" -t "$topic" \
  "${gateway_args[@]}" >"$work/gateway.out" 2>"$work/gateway.err" &
gateway_pid=$!
for _ in $(seq 100); do
  kill -0 "$gateway_pid" 2>/dev/null ||
    { tail -n 20 "$work/gateway.err" >&2; die "event-gateway exited at start"; }
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$port/healthz" || true) == 200 ]] && break
  sleep 0.1
done
url=http://127.0.0.1:$port/ingest

# ------------------------------------------------------------- measuring

# The gateway's CPU time so far, in clock ticks (utime + stime).
gateway_ticks() {
  local line f
  line=$(<"/proc/$gateway_pid/stat")
  line=${line##*) }
  read -ra f <<<"$line"
  echo $((f[11] + f[12]))
}

results=$work/results.tsv
: >"$results"

# scrape FILE: the gateway's /metrics into FILE.
scrape() {
  curl -sS --fail --max-time 10 -o "$1" "http://127.0.0.1:$port/metrics" ||
    die "GET /metrics of the gateway failed"
}

# run KIND RATE SECONDS PROCESSES WORKERS REP: one gateway-load.py run;
# appends a row to $results: the client's figures, the gateway's own (its request
# histogram between scrapes before and after: the bucket bounds its p50
# and p99 fall in, and the share answered within 10 ms), and its CPU time
# per request. Fails the bench only when the client itself fails.
run() {
  local kind=$1 rate=$2 secs=$3 procs=$4 workers=$5 rep=$6 out=$work/$1-$2-$6 t0 t1 rc=0
  scrape "$out.before"
  t0=$(gateway_ticks)
  python3 "$load_py" --url "$url" --rate "$rate" --duration "$secs" \
    --processes "$procs" --workers "$workers" --summary "$out.json" \
    >"$out.txt" 2>"$out.err" || rc=$?
  t1=$(gateway_ticks)
  scrape "$out.after"
  ((rc == 0)) || { cat "$out.err" >&2; die "gateway-load.py failed ($rc)"; }
  python3 - "$out" "$kind" "$((t1 - t0))" "$(getconf CLK_TCK)" "$rep" \
    "${BENCH_RESULTS:-}" >>"$results" <<'EOF'
import json, sys
out, kind, ticks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rep, records = int(sys.argv[5]), sys.argv[6]
s = json.load(open(out + ".json"))

def buckets(path):
    b = {}
    for line in open(path):
        if line.startswith('event_ingest_gateway_request_seconds_bucket{le="'):
            le = line.split('"')[1]
            b[float("inf") if le == "+Inf" else float(le)] = float(line.split()[-1])
    return b

b0, b1 = buckets(out + ".before"), buckets(out + ".after")
delta = sorted((le, b1[le] - b0.get(le, 0)) for le in b1)
n = delta[-1][1] if delta else 0

def bound(q):
    """The upper bound (ms) of the bucket the q-quantile falls in."""
    for le, c in delta:
        if n and c >= q * n:
            return "%g" % (le * 1000) if le != float("inf") else "inf"
    return "-"

within = next((c for le, c in delta if le == 0.01), 0)
lat = s["latency_ms"]
cpu_us = ticks / hz * 1e6 / max(1, s["requests"])
if records and kind == "fixed":
    with open(records, "a", encoding="utf-8") as f:
        f.write(json.dumps({
            "section": "gateway", "tool": "event-gateway", "rep": rep,
            "rate": int(s["rate_per_min"]), "p50_ms": lat["p50"],
            "p99_ms": lat["p99"], "p999_ms": lat["p99.9"],
            "max_ms": lat["max"], "count": s["requests"],
            "errors": s["errors"], "late": s["late_starts"],
            "cpu_us": round(cpu_us)}) + "\n")
print("\t".join(str(x) for x in (
    kind, rep, int(s["rate_per_min"]), int(s["duration_s"]), s["achieved_per_min"],
    s["requests"], s["accepted"], s["errors"], lat["p50"], lat["p99"],
    lat["p99.9"], lat["max"], s["late_starts"], bound(0.5), bound(0.99),
    "%.2f" % (100.0 * within / n if n else 0),
    "%.0f" % cpu_us)))
EOF
  log "$(tail -n 1 "$results" | awk -F'\t' '{printf "%-6s %d %7d/min: %d of %d accepted, p50 %.3f ms, p99 %.3f ms, %d late", $1, $2, $3, $7, $6, $9, $10, $13}')"
}

# clean ROW: the row's requests were all accepted, on schedule (at most 1%
# started more than 10 ms late).
clean() {
  awk -F'\t' '{ exit !($8 == 0 && $13 * 100 <= $6) }' <<<"$1"
}

# step_up REP: from 5,000 requests a minute, doubling, until a step is not
# clean; "best ended" in step_best, step_ended; a gateway-max record.
step_up() {
  local rep=$1 rate row
  step_best=0 step_ended="reached -m $max_rate/min"
  for ((rate = 5000; rate <= max_rate; rate *= 2)); do
    run step "$rate" "$step" "$step_procs" 16 "$rep"
    row=$(tail -n 1 "$results")
    if clean "$row"; then
      step_best=$rate
      continue
    fi
    if awk -F'\t' '{ exit !($8 > 0) }' <<<"$row"; then
      step_ended="errors at $rate/min"
    else
      step_ended="the client fell behind at $rate/min"
    fi
    break
  done
  log "run $rep: highest clean step $step_best/min; the climb ended: $step_ended"
  best_lines+=("run $rep: $step_best/min ($(awk "BEGIN { printf \"%.0f\", $step_best / 60 }")/s); the climb ended: $step_ended")
  [[ -z ${BENCH_RESULTS:-} ]] ||
    python3 -c 'import json, sys; print(json.dumps({"section": "gateway-max", "tool": "event-gateway", "rep": int(sys.argv[1]), "max_rate_per_min": int(sys.argv[2]), "ended": sys.argv[3], "step_s": int(sys.argv[4])}))' \
      "$rep" "$step_best" "$step_ended" "$step" >>"$BENCH_RESULTS"
}

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
log "warm-up: 200 requests (untimed)"
python3 "$load_py" --url "$url" --rate 6000 --duration 2 --fail-on-error \
  >"$work/warmup.txt" 2>&1 || { cat "$work/warmup.txt" >&2; die "warm-up failed"; }

best_lines=()
for ((rep = 1; rep <= reps; rep++)); do
  run fixed 1000 "$duration" 1 8 "$rep"
  run fixed 10000 "$duration" 1 8 "$rep"
  [[ $budget == short && $rep -gt 1 ]] || step_up "$rep"
done
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

kill -TERM "$gateway_pid"
rc=0
wait "$gateway_pid" || rc=$?
gateway_pid=
((rc == 0)) || die "event-gateway exited $rc after SIGTERM"

# ------------------------------------------------------------------ report

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "event-gateway POST /ingest -> Kafka ($brokers): 202 latency from bench/gateway-load.py (open loop, keep-alive, loopback), $(date -u +%Y-%m-%d)"
echo "machine: $(nproc) CPUs ($cpu_model); load average before $load_before, after $load_after"
[[ ${#gateway_args[@]} -eq 0 ]] || echo "gateway extra arguments: ${gateway_args[*]}"
echo
awk -F'\t' 'BEGIN {
    printf "%-6s %3s %8s %4s %8s %8s %8s %6s %7s %7s %8s %7s %5s | %7s %7s %7s | %6s\n", "run", "rep", "rate/min", "s", "achieved", "requests", "accepted", "errors", "p50 ms", "p99 ms", "p99.9ms", "max ms", "late", "p50 <=", "p99 <=", "<=10ms%", "CPU us"
  }
  { printf "%-6s %3d %8d %4d %8.0f %8d %8d %6d %7.2f %7.2f %8.2f %7.2f %5d | %7s %7s %7s | %6s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 }' "$results"
echo
echo "Client side (gateway-load.py): each request from writing it to reading the whole 202; late: started >10 ms behind schedule."
echo "Gateway side (its event_ingest_gateway_request_seconds histogram): the bucket bounds (ms) its p50 and p99 fall in, the share within 10 ms; CPU us: the gateway's CPU time per request."
echo
echo "highest rate with every request accepted on schedule:"
printf '  %s\n' "${best_lines[@]}"

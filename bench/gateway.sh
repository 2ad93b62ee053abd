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
#                 BUILD_DIR), e.g. a -DCMAKE_BUILD_TYPE=RelWithDebInfo build
#   -d SECONDS    length of each of the two fixed-rate runs (default 60; env
#                 BENCH_DURATION; 30 halves the time)
#   -s SECONDS    length of each step of the step-up (default 15; env
#                 BENCH_STEP)
#   -m RATE       the step-up stops there, requests a minute (default
#                 640000; env BENCH_MAX_RATE)
#   -p PROCESSES  client processes for the step-up (default 2; env
#                 BENCH_PROCESSES): one Python process offers a few hundred
#                 requests a second at most
#
# What it does:
#  1. Uses the Kafka broker at KAFKA_BOOTSTRAP_SERVERS when set; otherwise
#     starts one (scripts/kafka.sh) in a state directory of its own, or
#     reuses the one running there, and stops only what it started.
#  2. Starts event-gateway (its defaults: --publish-timeout 10, 1 MiB
#     bodies, no API keys, linger.ms 0; BENCH_GATEWAY_ARGS adds flags) on a
#     free loopback port, publishing to a fresh topic, and warms it up with
#     200 requests (untimed: the topic is made on first use, the
#     connections opened).
#  3. Runs gateway-load.py (half JSON, half text/plain, 4 tenants; each
#     worker one keep-alive connection) at 1,000 and at 10,000 requests a
#     minute for -d SECONDS each, one process of 8 workers.
#  4. Steps up from 20,000 requests a minute, doubling, -s SECONDS a step
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
#
# Environment: KAFKA_BOOTSTRAP_SERVERS (a broker to use as it is),
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
  sed -n '7,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

build_dir=${BUILD_DIR:-$repo_root/build}
duration=${BENCH_DURATION:-60}
step=${BENCH_STEP:-15}
max_rate=${BENCH_MAX_RATE:-640000}
step_procs=${BENCH_PROCESSES:-2}
while getopts 'b:d:s:m:p:h' opt; do
  case $opt in
    b) build_dir=$OPTARG ;;
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
for v in duration step max_rate step_procs; do
  [[ ${!v} =~ ^[1-9][0-9]{0,6}$ ]] || die "$v must be a whole number from 1, got '${!v}'"
done

gateway=$build_dir/bin/event-gateway
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

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
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

# run KIND RATE SECONDS PROCESSES WORKERS: one gateway-load.py run; appends
# a row to $results: the client's figures, the gateway's own (its request
# histogram between scrapes before and after: the bucket bounds its p50
# and p99 fall in, and the share answered within 10 ms), and its CPU time
# per request. Fails the bench only when the client itself fails.
run() {
  local kind=$1 rate=$2 secs=$3 procs=$4 workers=$5 out=$work/$1-$2 t0 t1 rc=0
  scrape "$out.before"
  t0=$(gateway_ticks)
  python3 "$load_py" --url "$url" --rate "$rate" --duration "$secs" \
    --processes "$procs" --workers "$workers" --summary "$out.json" \
    >"$out.txt" 2>"$out.err" || rc=$?
  t1=$(gateway_ticks)
  scrape "$out.after"
  ((rc == 0)) || { cat "$out.err" >&2; die "gateway-load.py failed ($rc)"; }
  python3 - "$out" "$kind" "$((t1 - t0))" "$(getconf CLK_TCK)" \
    >>"$results" <<'EOF'
import json, sys
out, kind, ticks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
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
print("\t".join(str(x) for x in (
    kind, int(s["rate_per_min"]), int(s["duration_s"]), s["achieved_per_min"],
    s["requests"], s["accepted"], s["errors"], lat["p50"], lat["p99"],
    lat["p99.9"], lat["max"], s["late_starts"], bound(0.5), bound(0.99),
    "%.2f" % (100.0 * within / n if n else 0),
    "%.0f" % (ticks / hz * 1e6 / max(1, s["requests"])))))
EOF
  log "$(tail -n 1 "$results" | awk -F'\t' '{printf "%-6s %7d/min: %d of %d accepted, p50 %.3f ms, p99 %.3f ms, %d late", $1, $2, $6, $5, $8, $9, $12}')"
}

# clean ROW: the row's requests were all accepted, on schedule (at most 1%
# started more than 10 ms late).
clean() {
  awk -F'\t' '{ exit !($7 == 0 && $12 * 100 <= $5) }' <<<"$1"
}

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
log "warm-up: 200 requests (untimed)"
python3 "$load_py" --url "$url" --rate 6000 --duration 2 --fail-on-error \
  >"$work/warmup.txt" 2>&1 || { cat "$work/warmup.txt" >&2; die "warm-up failed"; }

run fixed 1000 "$duration" 1 8
run fixed 10000 "$duration" 1 8

best=0 ended="reached -m $max_rate/min"
for ((rate = 20000; rate <= max_rate; rate *= 2)); do
  run step "$rate" "$step" "$step_procs" 16
  row=$(tail -n 1 "$results")
  if clean "$row"; then
    best=$rate
    continue
  fi
  if awk -F'\t' '{ exit !($7 > 0) }' <<<"$row"; then
    ended="errors at $rate/min"
  else
    ended="the client fell behind at $rate/min"
  fi
  break
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
    printf "%-6s %8s %4s %8s %8s %8s %6s %7s %7s %8s %7s %5s | %7s %7s %7s | %6s\n", "run", "rate/min", "s", "achieved", "requests", "accepted", "errors", "p50 ms", "p99 ms", "p99.9ms", "max ms", "late", "p50 <=", "p99 <=", "<=10ms%", "CPU us"
  }
  { printf "%-6s %8d %4d %8.0f %8d %8d %6d %7.2f %7.2f %8.2f %7.2f %5d | %7s %7s %7s | %6s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 }' "$results"
echo
echo "Client side (gateway-load.py): each request from writing it to reading the whole 202; late: started >10 ms behind schedule."
echo "Gateway side (its event_ingest_gateway_request_seconds histogram): the bucket bounds (ms) its p50 and p99 fall in, the share within 10 ms; CPU us: the gateway's CPU time per request."
echo
echo "highest rate with every request accepted on schedule: $best/min ($(awk "BEGIN { printf \"%.0f\", $best / 60 }")/s); the climb ended: $ended"

#!/usr/bin/env bash
# Rows per second into PostgreSQL through `event-consumer --sink postgres`,
# beside `psql \copy` of the same rows into a table of the same shape, and
# `event-consumer --sink stdout` over the same topic (Kafka and validation
# alone, no database), in one run on real services. docs/BENCHMARKS.md says
# what the figures mean and holds the results.
#
#   bench/postgres-sink.sh [-n EVENTS] [-r REPETITIONS] [-b BUILD_DIR]
#
#   -n EVENTS       events to generate and load (default 200000, 100000
#                   with BENCH_BUDGET=short; env BENCH_EVENTS)
#   -r REPETITIONS  runs of each tool (default 3; env BENCH_REPS)
#   -b BUILD_DIR    where bin/event-consumer and bin/event-producer are
#                   (default <repo>/build; env BUILD_DIR, or BENCH_BIN for
#                   the bin directory itself), e.g. a
#                   -DCMAKE_BUILD_TYPE=RelWithDebInfo build
#
# What it does:
#  1. Starts a Kafka broker (scripts/kafka.sh) and a PostgreSQL server
#     (scripts/postgres.sh) in state directories of their own, or reuses
#     the one already running in that state directory; at exit it stops only
#     what it started.
#  2. Writes EVENTS JSON events (about 215 bytes each, unique event_id,
#     timestamp, service_name, level, event_type, message, host, latency_ms)
#     to a file, and the very rows the sink would store for them to a second
#     file in COPY text format (event_id, payload, event_time, received_time,
#     is_valid, source_topic, source_partition 0, source_offset = line
#     number), then publishes the events once, with event-producer --input,
#     to a fresh topic of one partition.
#  3. Reads the whole topic once, untimed (event-consumer --sink stdout), to
#     warm the broker's fetch path (its JIT) and the page cache.
#  4. For each repetition, the three tools in a rotating order (the first
#     two alternate which goes first):
#       postgres: event-consumer --sink postgres --pg-table <fresh table>
#                 --group <fresh group> -n EVENTS --idle-exit 2
#                 -X fetch.wait.max.ms=10, stdout to /dev/null
#       \copy:    psql -c "\copy <fresh table> (columns) FROM <the COPY file>"
#       stdout:   event-consumer --sink stdout (same flags) > /dev/null
#     Before each run: CHECKPOINT, so that no run pays for the previous
#     one's dirty pages. After it: the table must hold EVENTS rows (the
#     consumer's Summary must say consumed=EVENTS valid=EVENTS), else the
#     bench fails; then the table is dropped. With BENCH_BUDGET=short
#     (bench/run.sh) the stdout tool is left out: postgres and \copy only.
#  5. Prints one table: rows/s (median, min, max), wall seconds, the
#     client's CPU seconds and peak RSS (/usr/bin/time -v), the CPU seconds
#     of the PostgreSQL backend and of the server's background processes,
#     and the ratio postgres/\copy taken repetition by repetition.
#     With BENCH_RESULTS set, it also appends one JSON line a run to that
#     file (bench/report.py reads them): section "postgres", tool
#     ("event-consumer --sink postgres", "psql \copy", "event-consumer
#     --sink stdout"), rep, events, bytes (the events' payload bytes),
#     wall_s, cpu_s and rss_kb (the client's), pg_backend_cpu_s and
#     pg_bg_cpu_s (null when not on this machine's /proc); rows/s is
#     events / wall_s.
#
# Timing: each run is timed as a whole process, from its start until it has
# exited, so it includes starting up, connecting, and (consumer) joining the
# group and committing offsets at the end; about 0.05 s here. The consumer
# is given -n EVENTS, so it exits right after the batch with the last event
# is committed to PostgreSQL; --idle-exit 2 is only a safety net (a run
# that ends on it has fewer rows and fails the bench), so no idle time is in
# any figure. The tables are created (same columns and keys as the sink's,
# WITH (autovacuum_enabled = false), so that autovacuum does not start on a
# 200,000-row table in the middle of a later run) before the clock starts;
# the consumer then finds its table there, and makes only its small
# <table>__tombstones.
#
# PostgreSQL CPU: the backend's is the CPU time of the server processes that
# exited during the run (the postmaster's reaped children, /proc/PID/stat
# cutime+cstime): on a server of its own that is the run's backend alone;
# "bg" is what the walwriter, checkpointer, background writer and
# autovacuum launcher used meanwhile. "-" when the server is not on this
# machine's /proc.
#
# Environment:
#   BENCH_RESULTS      append the records here (see 5.)
#   BENCH_BUDGET=short bench/run.sh's time budget (2 minutes): 100,000
#                      events unless -n or BENCH_EVENTS says otherwise, and
#                      no stdout tool (about 40 s with services running)
#   KAFKA_HOME_DIR     the broker's state directory (default
#                      /tmp/event-ingest-bench/kafka); a broker already
#                      running there is reused, otherwise a FRESH one is
#                      started there (scripts/kafka.sh start wipes it)
#   KAFKA_PORT         its port when started here (default 49092; also
#                      49093 and 49094)
#   POSTGRES_HOME_DIR  the server's state directory (default
#                      /tmp/event-ingest-bench/postgres); reused if a server
#                      runs there, otherwise a fresh one is made there
#   POSTGRES_PORT      its port when started here (default 45432)
#   BENCH_CONSUMER_ARGS  more event-consumer arguments for both consumer
#                      tools (split on blanks), e.g. "-X queued.min.messages=20000"
#   PGOPTIONS          libpq's: reaches the consumer's and psql's sessions
#                      alike, e.g. PGOPTIONS='-c synchronous_commit=off'
#   BENCH_KEEP=1       keep the work directory (events, COPY file, logs,
#                      per-run figures) and print where it is
#   TMPDIR             where the work directory goes (default /tmp); it
#                      needs about 0.45 KB per event
#
# Needs: bash, mawk or gawk, /usr/bin/time (Debian package time), psql 15,
# what scripts/kafka.sh and scripts/postgres.sh need (scripts/setup.sh
# --test installs all of it), and a build of the project.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly COLUMNS_LIST="event_id, payload, event_time, received_time, is_valid, source_topic, source_partition, source_offset"
readonly IDLE_EXIT_S=2

log() { printf 'postgres-sink.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
  sed -n '8,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

budget=${BENCH_BUDGET:-}
[[ -z $budget || $budget == short ]] || die "BENCH_BUDGET must be short or unset, got '$budget'"
if [[ $budget == short ]]; then
  events=${BENCH_EVENTS:-100000}
  tools=(postgres copy)
else
  events=${BENCH_EVENTS:-200000}
  tools=(postgres copy stdout)
fi
reps=${BENCH_REPS:-3}
build_dir=${BUILD_DIR:-$repo_root/build}
bin_dir=${BENCH_BIN:-}
while getopts 'n:r:b:h' opt; do
  case $opt in
    n) events=$OPTARG ;;
    r) reps=$OPTARG ;;
    b) build_dir=$OPTARG bin_dir= ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage
[[ $events =~ ^[1-9][0-9]{0,8}$ ]] || die "EVENTS must be a whole number from 1, got '$events'"
[[ $reps =~ ^[1-9][0-9]?$ ]] || die "REPETITIONS must be 1 to 99, got '$reps'"

export POSTGRES_HOME_DIR=${POSTGRES_HOME_DIR:-/tmp/event-ingest-bench/postgres}
export POSTGRES_PORT=${POSTGRES_PORT:-45432}
read -ra extra_args <<<"${BENCH_CONSUMER_ARGS:-}"

bin_dir=${bin_dir:-$build_dir/bin}
consumer=$bin_dir/event-consumer
producer=$bin_dir/event-producer
[[ -x $consumer && -x $producer ]] ||
  die "no $consumer or $producer; build first: cmake -S $repo_root -B $build_dir -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $build_dir -j"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (sudo apt-get install -y time)"
psql_bin=$PG_BIN/psql
[[ -x $psql_bin ]] || psql_bin=$(command -v psql) || die "psql not found (scripts/setup.sh --test)"
kafka_sh=$repo_root/scripts/kafka.sh
postgres_sh=$repo_root/scripts/postgres.sh

# ------------------------------------------------- work directory, services

# shellcheck source=lib.sh
source "$repo_root/bench/lib.sh"
# The server reads nothing from the work directory (psql's \copy reads the
# file on the client side), so its default mode is enough.

bench_kafka
bench_service "$postgres_sh" "PostgreSQL server" "$POSTGRES_HOME_DIR" \
  "$POSTGRES_PORT"
st=$bench_status
# "running: pid N, PG_DSN='...', socket DIR"
pm_pid=${st#running: pid }
pm_pid=${pm_pid%%,*}
dsn=${st#*PG_DSN=\'}
dsn=${dsn%%\'*}
[[ $pm_pid =~ ^[0-9]+$ && $dsn == *port=* ]] || die "cannot read the server's pid and DSN from: $st"
[[ -r /proc/$pm_pid/stat ]] || pm_pid=

# psql as the sink's role, quiet, stopping at the first error.
sql() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 -At -d "$dsn" "$@"; }
# As the superuser, through postgres.sh (CHECKPOINT).
superuser_sql() { "$postgres_sh" psql -U postgres -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# ------------------------------------------------------------------- data

topic=bench-pg-$(date +%s)-$$
events_file=$work/events.ndjson
copy_file=$work/events.copy
received=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
log "generating $events events into $events_file and $copy_file"
# One pass writes both files from the same fields: the event as JSON, and
# the row the sink stores for it (payload unchanged; it has no backslash or
# tab, so it needs no COPY escaping). Timestamps run over 2026-11-29, 50
# events a second.
awk -v n="$events" -v topic="$topic" -v received="$received" \
  -v events_file="$events_file" -v copy_file="$copy_file" 'BEGIN {
  split("checkout payments auth-gateway inventory search notifications user-profile shipping", svc, " ")
  split("DEBUG INFO INFO INFO INFO WARN WARN ERROR", lvl, " ")
  split("page_view api_call db_query cache_miss login order_created payment_failed", et, " ")
  split("request completed|upstream responded slowly|cache entry expired, refetching|user session refreshed|retrying after connection reset|order accepted for fulfilment", msg, "|")
  for (i = 0; i < n; i++) {
    s = int(i / 50) % 86400
    ts = sprintf("2026-11-29T%02d:%02d:%02d.%03dZ", int(s / 3600), int(s / 60) % 60, s % 60, (i * 7) % 1000)
    id = sprintf("evt-%08d-%08x", i, (i * 2654435761) % 4294967296)
    ev = sprintf("{\"event_id\":\"%s\",\"timestamp\":\"%s\",\"service_name\":\"%s\",\"level\":\"%s\",\"event_type\":\"%s\",\"message\":\"%s\",\"host\":\"node-%02d\",\"latency_ms\":%d}", \
      id, ts, svc[i % 8 + 1], lvl[(i * 3) % 8 + 1], et[(i * 5) % 7 + 1], msg[(i * 11) % 6 + 1], i % 17, (i * 37) % 900 + 3)
    print ev > events_file
    printf "%s\t%s\t%s\t%s\tt\t%s\t0\t%d\n", id, ev, ts, received, topic, i > copy_file
  }
}'
# Payload bytes: the file less its newlines.
payload_bytes=$(($(stat -c %s "$events_file") - events))
event_bytes=$((payload_bytes / events))

log "creating topic $topic (1 partition) and publishing the events"
"$kafka_sh" topic "$topic" 1 >"$work/topic.log" 2>&1 ||
  { cat "$work/topic.log" >&2; die "kafka.sh topic failed"; }
"$producer" -b "$brokers" -t "$topic" -i "$events_file" \
  >/dev/null 2>"$work/producer.log" ||
  { tail -n 20 "$work/producer.log" >&2; die "event-producer failed"; }
grep -q "delivered=$events failed=0" "$work/producer.log" ||
  { tail -n 5 "$work/producer.log" >&2; die "not every event was delivered"; }

# --------------------------------------------------------------- measuring

# The sink's table, made before the clock starts (see the header).
create_table() {
  sql -c "CREATE TABLE $1 (event_id text PRIMARY KEY, payload jsonb NOT NULL, event_time timestamptz, received_time timestamptz NOT NULL, is_valid boolean NOT NULL, source_topic text NOT NULL, source_partition integer, source_offset bigint) WITH (autovacuum_enabled = false)"
}

# utime+stime of PID (with "c": cutime+cstime, its reaped children's), in
# clock ticks.
cpu_ticks() {
  local line f
  line=$(<"/proc/$1/stat") || return 1
  line=${line##*) }
  read -ra f <<<"$line"
  if [[ ${2:-} == c ]]; then
    echo $((f[13] + f[14]))
  else
    echo $((f[11] + f[12]))
  fi
}

# The server's CPU so far: "R ticks" (the postmaster's reaped children),
# then "PID ticks" for each live child.
pg_snapshot() {
  local pid t
  [[ -n $pm_pid ]] || return 0
  echo "R $(cpu_ticks "$pm_pid" c)"
  for pid in $(pgrep -P "$pm_pid"); do
    t=$(cpu_ticks "$pid" 2>/dev/null) && echo "$pid $t"
  done
}

# Waits (up to 3 s) until the postmaster is back to N children: the run's
# backend has exited and been reaped.
wait_backends() {
  local n=$1 i
  [[ -n $pm_pid ]] || return 0
  for ((i = 0; i < 60; i++)); do
    (($(pgrep -c -P "$pm_pid" || true) <= n)) && return 0
    sleep 0.05
  done
}

# pg_cpu BEFORE AFTER: "backend_s bg_s" between two snapshots.
pg_cpu() {
  [[ -n $pm_pid ]] || { echo "- -"; return 0; }
  awk -v hz="$(getconf CLK_TCK)" '
    FNR == NR { if ($1 == "R") r0 = $2; else b[$1] = $2; next }
    $1 == "R" { r1 = $2; next }
    { if ($1 in b) { bg += $2 - b[$1]; delete b[$1] } else bg += $2 }
    END {
      # Children gone since BEFORE were reaped: their time before it is not
      # this run'"'"'s.
      for (p in b) r1 -= b[p]
      printf "%.2f %.2f\n", (r1 - r0) / hz, bg / hz
    }' "$1" "$2"
}

# time_v FILE FIELD: a figure from /usr/bin/time -v's report.
time_v() { sed -n "s/^[[:space:]]*$2: //p" "$1"; }

results=$work/results.tsv
: >"$results"

# measure TOOL REP TABLE: one timed run; appends "tool rep rate wall cpu
# rss_kb backend_s bg_s" to $results.
measure() {
  local tool=$1 rep=$2 table=$3 out=$work/$1.$2 group children t0 t1 rows
  local cmd
  group=bench-$tool-$rep-$$-$(date +%s%N)
  case $tool in
    postgres)
      cmd=("$consumer" -b "$brokers" -t "$topic" -g "$group" -n "$events"
        --idle-exit "$IDLE_EXIT_S" -X fetch.wait.max.ms=10 --sink postgres
        --pg-dsn "$dsn" --pg-table "$table" "${extra_args[@]}") ;;
    stdout)
      cmd=("$consumer" -b "$brokers" -t "$topic" -g "$group" -n "$events"
        --idle-exit "$IDLE_EXIT_S" -X fetch.wait.max.ms=10 --sink stdout
        "${extra_args[@]}") ;;
    copy)
      cmd=("$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$dsn"
        -c "\\copy $table ($COLUMNS_LIST) FROM '$copy_file'") ;;
  esac
  [[ $tool == stdout ]] || create_table "$table"
  superuser_sql -c CHECKPOINT
  children=$(if [[ -n $pm_pid ]]; then pgrep -c -P "$pm_pid" || true; else echo 0; fi)
  pg_snapshot >"$out.pg0"
  t0=$(date +%s%N)
  if ! /usr/bin/time -v -o "$out.time" "${cmd[@]}" >/dev/null 2>"$out.log"; then
    tail -n 20 "$out.log" >&2
    die "$tool run $rep failed (log above)"
  fi
  t1=$(date +%s%N)
  wait_backends "$children"
  pg_snapshot >"$out.pg1"
  if [[ $tool == stdout ]]; then
    grep -q "consumed=$events valid=$events " "$out.log" ||
      die "$tool run $rep: expected consumed=$events valid=$events, got: $(grep Summary "$out.log")"
  else
    rows=$(sql -c "SELECT count(*) FROM $table")
    [[ $rows == "$events" ]] || die "$tool run $rep: table $table holds $rows rows, not $events"
    sql -c "SET client_min_messages = warning" -c "DROP TABLE $table" \
      -c "DROP TABLE IF EXISTS ${table}__tombstones"
  fi
  awk -v tool="$tool" -v rep="$rep" -v n="$events" -v ns=$((t1 - t0)) \
    -v user="$(time_v "$out.time" 'User time (seconds)')" \
    -v sys="$(time_v "$out.time" 'System time (seconds)')" \
    -v rss="$(time_v "$out.time" 'Maximum resident set size (kbytes)')" \
    -v pg="$(pg_cpu "$out.pg0" "$out.pg1")" 'BEGIN {
      split(pg, p, " ")
      printf "%s\t%d\t%.0f\t%.3f\t%.2f\t%d\t%s\t%s\n", tool, rep, n / (ns / 1e9), ns / 1e9, user + sys, rss, p[1], p[2]
    }' >>"$results"
  log "$(tail -n 1 "$results" | awk -F'\t' '{printf "run %d %-8s %9.0f rows/s  %6.2f s", $2, $1, $3, $4}')"
}

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
log "warm-up: reading the topic once (untimed)"
"$consumer" -b "$brokers" -t "$topic" -g "bench-warmup-$$" -n "$events" \
  --idle-exit "$IDLE_EXIT_S" -X fetch.wait.max.ms=10 --sink stdout \
  "${extra_args[@]}" >/dev/null 2>"$work/warmup.log" ||
  { tail -n 20 "$work/warmup.log" >&2; die "warm-up consumer failed"; }

ntools=${#tools[@]}
for ((rep = 1; rep <= reps; rep++)); do
  for ((k = 0; k < ntools; k++)); do
    tool=${tools[(rep - 1 + k) % ntools]}
    measure "$tool" "$rep" "bench_${tool}_${rep}_$$"
  done
done
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

# The records for bench/report.py: one a run, in the results format.
if [[ -n ${BENCH_RESULTS:-} ]]; then
  awk -F'\t' -v n="$events" -v bytes="$payload_bytes" '
    function num(x) { return x == "-" ? "null" : x }
    BEGIN {
      name["postgres"] = "event-consumer --sink postgres"
      name["copy"] = "psql \\\\copy"
      name["stdout"] = "event-consumer --sink stdout"
    }
    { printf "{\"section\": \"postgres\", \"tool\": \"%s\", \"rep\": %d, \"events\": %d, \"bytes\": %d, \"wall_s\": %s, \"cpu_s\": %s, \"rss_kb\": %d, \"pg_backend_cpu_s\": %s, \"pg_bg_cpu_s\": %s}\n",
        name[$1], $2, n, bytes, $4, $5, $6, num($7), num($8) }' "$results" >>"$BENCH_RESULTS"
fi

# ------------------------------------------------------------------ report

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem_gib=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
pg_version=$(sql -c 'SHOW server_version')
sync_commit=$(sql -c 'SHOW synchronous_commit')
echo
echo "event-consumer --sink postgres vs psql \\copy: $events events of ~$event_bytes bytes, $reps repetitions, $(date -u +%Y-%m-%d)"
echo "machine: $(nproc) CPUs ($cpu_model), $mem_gib GiB; PostgreSQL $pg_version, synchronous_commit=$sync_commit${PGOPTIONS:+, PGOPTIONS=$PGOPTIONS}; load average before $load_before, after $load_after"
[[ ${#extra_args[@]} -eq 0 ]] || echo "consumer extra arguments: ${extra_args[*]}"
echo
awk -F'\t' -v reps="$reps" '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function stats(tool, col, what,   i, n, a) {
    n = 0
    for (i = 1; i <= NR; i++) if (t[i] == tool && v[i, col] != "-") a[++n] = v[i, col] + 0
    if (!n) return "-"
    if (what == "med") return median(a, n)
    median(a, n)    # sorts a
    return what == "min" ? a[1] : a[n]
  }
  { t[NR] = $1; r[NR] = $2; for (c = 3; c <= 8; c++) v[NR, c] = $c }
  END {
    name["postgres"] = "event-consumer --sink postgres"
    name["copy"] = "psql \\copy (no merge)"
    name["stdout"] = "event-consumer --sink stdout"
    printf "%-31s %8s %8s %8s %7s %7s %9s %8s %6s\n", "", "rows/s", "rows/s", "rows/s", "wall s", "client", "client", "pg bknd", "pg bg"
    printf "%-31s %8s %8s %8s %7s %7s %9s %8s %6s\n", "tool", "median", "min", "max", "median", "cpu s", "peak RSS", "cpu s", "cpu s"
    split("postgres copy stdout", order, " ")
    for (k = 1; k <= 3; k++) {
      tool = order[k]
      if (stats(tool, 3, "med") == "-") continue
      be = stats(tool, 7, "med"); bg = stats(tool, 8, "med")
      if (tool == "stdout") be = bg = "-"
      printf "%-31s %8.0f %8.0f %8.0f %7.2f %7.2f %6.1f MB %8s %6s\n", name[tool],
        stats(tool, 3, "med"), stats(tool, 3, "min"), stats(tool, 3, "max"),
        stats(tool, 4, "med"), stats(tool, 5, "med"), stats(tool, 6, "max") / 1024,
        be == "-" ? "-" : sprintf("%.2f", be), bg == "-" ? "-" : sprintf("%.2f", bg)
    }
    # The ratio pair by pair: each repetition ran both under the same
    # conditions.
    n = 0
    for (i = 1; i <= NR; i++) if (t[i] == "postgres") pg[r[i]] = v[i, 3]
    for (i = 1; i <= NR; i++) if (t[i] == "copy" && (r[i] in pg)) q[++n] = pg[r[i]] / v[i, 3]
    ratio = median(q, n)
    print ""
    printf "ratio postgres/\\copy, per repetition: median %.2f (min %.2f, max %.2f)\n", ratio, q[1], q[n]
    rate = stats("postgres", 3, "med")
    printf "targets (issue 10): >= 50000 rows/s: %s (%.0f); >= 0.5 x \\copy: %s (%.2f)\n",
      (rate >= 50000 ? "met" : "NOT met"), rate, (ratio >= 0.5 ? "met" : "NOT met"), ratio
    print "client cpu s (median) and peak RSS (largest): /usr/bin/time -v of the client process; pg bknd: the run'"'"'s"
    print "backend (the postmaster'"'"'s reaped children); pg bg: walwriter, checkpointer, bgwriter; wall: process start to exit"
  }' "$results"

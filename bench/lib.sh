# shellcheck shell=bash
# What the benchmarks share; sourced, never run: a work directory removed
# at exit (kept with BENCH_KEEP=1), and the services they measure against
# (a Kafka broker, a PostgreSQL server): each reused when one runs in its
# state directory, else started, and then stopped at exit. The script
# defines log and die before sourcing this, and may define bench_on_exit:
# what it must undo at exit (a process of its own), run before the services
# stop.
#
# Environment: KAFKA_HOME_DIR, the broker's state directory (default
# /tmp/event-ingest-bench/kafka), KAFKA_PORT (its port when started here,
# default 49092), BENCH_KEEP, TMPDIR.

export KAFKA_HOME_DIR=${KAFKA_HOME_DIR:-/tmp/event-ingest-bench/kafka}
export KAFKA_PORT=${KAFKA_PORT:-49092}
bench_kafka_sh=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/kafka.sh
readonly bench_kafka_sh
# The service scripts started here, to stop at exit.
bench_started=()
work=

# shellcheck disable=SC2317 # the EXIT trap
bench_cleanup() {
  local rc=$? script
  trap - EXIT INT TERM
  if declare -F bench_on_exit >/dev/null; then
    bench_on_exit
  fi
  for script in "${bench_started[@]}"; do
    "$script" stop >/dev/null 2>&1 || log "warning: ${script##*/} stop failed"
  done
  if [[ -n $work && -d $work ]]; then
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
      log "work directory kept: $work"
    else
      rm -rf "$work"
    fi
  fi
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "${TMPDIR:-/tmp}"
work=$(mktemp -d "${TMPDIR:-/tmp}/event-ingest-bench.XXXXXX")

# service_status SCRIPT: the first line of a running service's status, or
# nothing.
service_status() { "$1" status 2>/dev/null | head -n 1 || true; }

# bench_service SCRIPT WHAT HOME PORT: the service of SCRIPT (scripts/kafka.sh,
# scripts/postgres.sh) whose state directory is HOME: reused when it runs,
# else started there on PORT (fresh: a start wipes the directory) and
# stopped at exit. Its status line in bench_status.
bench_service() {
  local st
  st=$(service_status "$1")
  if [[ $st == running:* ]]; then
    log "reusing the $2 in $3 ($st)"
  else
    log "starting $2 in $3 on port $4"
    bench_started+=("$1")
    "$1" start >"$work/${1##*/}-start.log" 2>&1 ||
      { tail -n 20 "$work/${1##*/}-start.log" >&2; die "${1##*/} start failed"; }
    st=$(service_status "$1")
  fi
  bench_status=$st
}

# bench_kafka: the broker in KAFKA_HOME_DIR (bench_service); its bootstrap
# address in brokers.
bench_kafka() {
  bench_service "$bench_kafka_sh" "Kafka broker" "$KAFKA_HOME_DIR" "$KAFKA_PORT"
  brokers=${bench_status##*bootstrap }
  [[ $brokers =~ ^[^[:space:]]+:[0-9]+$ ]] ||
    die "cannot tell the broker's address from: $bench_status"
}

# bench_venv: the virtualenv of bench/requirements.txt (BENCH_VENV, default
# <repo>/.bench-venv), made or remade when the file changed (a marker holds
# its hash, written last, so an interrupted install is redone); its python
# in bench_python.
bench_venv() {
  local root venv requirements want marker
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  venv=${BENCH_VENV:-$root/.bench-venv}
  requirements=$root/bench/requirements.txt
  marker=$venv/.requirements.sha256
  want=$(sha256sum "$requirements")
  want=${want%% *}
  if ! [[ -f $marker && $(<"$marker") == "$want" && -x $venv/bin/python ]]; then
    log "installing bench/requirements.txt into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (scripts/setup.sh --test installs python3-venv)"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      -r "$requirements" || die "pip install -r bench/requirements.txt failed"
    echo "$want" >"$marker"
  fi
  # shellcheck disable=SC2034 # read by the scripts that source this
  bench_python=$venv/bin/python
}

#!/usr/bin/env bash
# Run a throwaway PostgreSQL 15 server (Debian's postgresql-15) on 127.0.0.1
# for development and the integration tests of the postgres sink.
#
#   scripts/postgres.sh start    make a FRESH cluster (initdb), start it, wait
#                                until it accepts connections, create the
#                                role and database `eventingest`, print
#                                `export PG_DSN='...'` on stdout
#                                (eval "$(... start)" works)
#   scripts/postgres.sh stop     stop it: a fast shutdown (clients are
#                                disconnected, a clean checkpoint); exit 0 if
#                                nothing was running
#   scripts/postgres.sh status   exit 0 if running, 3 if not
#   scripts/postgres.sh kill     SIGKILL the postmaster and every process it
#                                started, as a crash would (no shutdown
#                                checkpoint), keeping its data (exit 0 if
#                                nothing was running)
#   scripts/postgres.sh resume   start it again on the data the last `start`
#                                made (tables and rows kept, crash recovery
#                                after a kill; same port), wait until it
#                                accepts connections, print `export PG_DSN=...`
#   scripts/postgres.sh restart  stop, then resume
#   scripts/postgres.sh psql [ARGS...]
#                                psql on the running server, as `eventingest`
#                                to database `eventingest` through the unix
#                                socket; ARGS as for psql (-U postgres for
#                                the superuser, -d for another database)
#
# PG_DSN is a libpq connection string for TCP:
#   host=127.0.0.1 port=PORT dbname=eventingest user=eventingest
# The role `eventingest` is no superuser; it owns the database (and so may
# create tables in its schema public). The superuser is `postgres`.
#
# Environment:
#   POSTGRES_HOME_DIR  state directory (default: <repo>/.postgres, git-ignored):
#                      data/ (the cluster), postgres.log, the pid file, and the
#                      unix socket .s.PGSQL.PORT
#   POSTGRES_PORT      TCP port on 127.0.0.1 (default 5432), also the number
#                      in the socket's name
#
# For development and tests only: every role connects WITHOUT a password
# (trust authentication) on the unix socket and on 127.0.0.1, which is all it
# listens on; anyone on this machine can be its superuser. Durability is
# PostgreSQL's default (fsync and synchronous_commit on), so a commit the
# server has acknowledged survives `kill`. Only initdb runs with --no-sync
# (it does not flush the new cluster's files): a little time per start
# (0.1 s here, more on slow disks), at a risk only if the machine itself
# crashes right after.
#
# PostgreSQL refuses to run as root: run as root, this script runs the
# server (and initdb) as the system user `postgres`, which Debian's
# postgresql-common creates (and this script, if it is missing), and gives
# it the state directory; the state directory's parents must let it in
# (not under /root, say).
set -euo pipefail

readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=30
readonly DB_NAME=eventingest
readonly DB_USER=eventingest
readonly SUPERUSER=postgres
readonly SERVER_USER=postgres

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

port=${POSTGRES_PORT:-5432}
# Made absolute, and the paths under it set, in main().
state_dir=${POSTGRES_HOME_DIR:-$repo_root/.postgres}

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib/daemon.sh
source "$script_dir/lib/daemon.sh"

# The postmaster keeps the command line it was started with (its children
# rename themselves "postgres: event-ingest: ..."); the data directory makes
# the pattern this state directory's own.
is_postmaster_pid() { is_live_process "$1" "bin/postgres -D $data_dir "; }

# Prints the recorded pid if that postmaster is alive; otherwise cleans up a
# stale pid file and fails.
running_pid() { recorded_pid "$pid_file" is_postmaster_pid; }

# The port the cluster was made for, read back from its configuration so
# that `status`, `resume` and `psql` are right even when POSTGRES_PORT
# differs from what `start` used.
cluster_port() {
  local p
  p=$(sed -n 's/^port = \([0-9][0-9]*\).*/\1/p' "$config_file" 2>/dev/null |
    tail -n 1)
  echo "${p:-$port}"
}

pg_dsn() {
  echo "host=127.0.0.1 port=$(cluster_port) dbname=$DB_NAME user=$DB_USER"
}

port_in_use() {
  # A successful connect means something is listening; bash's /dev/tcp avoids
  # depending on ss/netstat output formats.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

require_tools() {
  local tool
  for tool in initdb postgres pg_isready psql; do
    [[ -x $PG_BIN/$tool ]] ||
      die "$PG_BIN/$tool not found; install PostgreSQL 15 with: scripts/setup.sh --postgres (or sudo apt-get install -y postgresql-15 postgresql-client-15)"
  done
}

# server_user_is USER: sets as_server, the prefix that runs a command as
# USER (empty when this script is not root: the server then runs as whoever
# runs the script).
# setpriv, unlike runuser or su, execs in place: the postmaster keeps the
# pid that $! reports.
server_user_is() {
  as_server=()
  [[ $EUID -eq 0 ]] || return 0
  [[ $1 != root ]] || die "the cluster in $data_dir belongs to root; PostgreSQL cannot run as root (use: $0 start)"
  as_server=(setpriv "--reuid=$1" "--regid=$(id -gn "$1")" --init-groups --)
}

# As root: the system user `postgres`, created if missing (as Debian's
# postgresql-common would), owning the state directory, which it must be
# able to reach.
prepare_server_user() {
  if [[ $EUID -ne 0 ]]; then
    as_server=()
    return 0
  fi
  if ! id -u "$SERVER_USER" >/dev/null 2>&1; then
    log "creating the system user $SERVER_USER to run the server"
    useradd --system --user-group --home-dir /var/lib/postgresql \
      --no-create-home --shell /usr/sbin/nologin "$SERVER_USER"
  fi
  server_user_is "$SERVER_USER"
  chown "$SERVER_USER:" "$state_dir"
  "${as_server[@]}" test -w "$state_dir" -a -x "$state_dir" ||
    die "user $SERVER_USER cannot reach $state_dir (a parent directory shuts it out); set POSTGRES_HOME_DIR elsewhere, e.g. /tmp/event-ingest-postgres"
}

# Settings appended to the postgresql.conf initdb wrote (a later line wins).
write_config() {
  cat >>"$config_file" <<EOF

# Added by scripts/postgres.sh at start; resume keeps them.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$state_dir'
cluster_name = 'event-ingest'
# UTC whatever this machine's zone: timestamps print the same everywhere.
timezone = 'UTC'
log_timezone = 'UTC'
# PostgreSQL's defaults, stated: acknowledged commits are on disk.
fsync = on
synchronous_commit = on
EOF
  # Only the socket and loopback, both without a password: see the header.
  cat >"$data_dir/pg_hba.conf" <<'EOF'
# Generated by scripts/postgres.sh: a development and test server; every
# role connects without a password, on the socket and on 127.0.0.1 only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  [[ $EUID -ne 0 ]] || chown "$SERVER_USER:" "$data_dir/pg_hba.conf"
}

# A fresh cluster: UTF-8, the C locale (present on every machine, and a
# byte-order collation the same everywhere), `postgres` its superuser.
init_cluster() {
  rm -rf "$data_dir"
  if ! (cd "$state_dir" && "${as_server[@]}" "$PG_BIN/initdb" -D "$data_dir" \
      -U "$SUPERUSER" --auth=trust --encoding=UTF8 --no-locale --no-sync \
      --no-instructions) >>"$log_file" 2>&1; then
    tail -n 40 "$log_file" >&2
    die "initdb of $data_dir failed"
  fi
  write_config
}

# psql as the superuser through the socket, quiet; its output to the log.
superuser_sql() {
  PGHOST=$state_dir PGPORT=$port "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -U "$SUPERUSER" -d postgres "$@" >>"$log_file" 2>&1
}

# A start that fails here stops the server it launched, as a failed launch
# does: `start` either serves the database or leaves nothing running.
create_database() {
  local pid
  superuser_sql -c "CREATE ROLE $DB_USER LOGIN" \
    -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" && return 0
  tail -n 20 "$log_file" >&2
  if pid=$(running_pid); then
    stop_pid "$pid"
    rm -f "$pid_file"
  fi
  die "creating role and database $DB_NAME failed; postgres stopped"
}

# PostgreSQL puts its socket at DIR/.s.PGSQL.PORT, which must fit in
# sun_path (108 bytes with the terminating NUL).
check_socket_path() {
  local path=$state_dir/.s.PGSQL.$port
  (( ${#path} < 108 )) ||
    die "the socket path $path is longer than 107 bytes; set POSTGRES_HOME_DIR to a shorter path"
}

# child_pids PID: the pids of PID's children, one a line.
child_pids() {
  local stat f ppid
  for f in /proc/[0-9]*/stat; do
    stat=$(cat "$f" 2>/dev/null) || continue
    stat=${stat##*) }
    # Fields after the command name: state, ppid, ...
    read -r _ ppid _ <<<"$stat"
    [[ $ppid != "$1" ]] || { f=${f#/proc/}; echo "${f%/stat}"; }
  done
}

# kill_cluster PID: SIGKILL the postmaster PID and its children (backends,
# checkpointer, WAL writer...), which would otherwise linger until they
# noticed and still hold the shared memory that `resume` needs. Stopped
# first, the postmaster cannot start a child between the listing and the
# kill. Returns once all are gone and the port is free.
kill_cluster() {
  local pid=$1 p deadline children
  kill -STOP "$pid" 2>/dev/null || true
  children=$(child_pids "$pid")
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL "$pid" $children 2>/dev/null || true
  deadline=$(( $(now_us) + STOP_TIMEOUT_S * 1000000 ))
  for p in "$pid" $children; do
    while is_live_process "$p" postgres; do
      (( $(now_us) < deadline )) ||
        die "postgres process $p still alive ${STOP_TIMEOUT_S}s after SIGKILL"
      sleep 0.05
    done
  done
  while port_in_use "$(cluster_port)"; do
    (( $(now_us) < deadline )) ||
      die "port $(cluster_port) still in use ${STOP_TIMEOUT_S}s after SIGKILL"
    sleep 0.05
  done
}

# SIGINT is PostgreSQL's fast shutdown: SIGTERM (stop_process's) would be
# its smart one, which waits for every client to disconnect. The postmaster
# exits only after all its children.
stop_pid() {
  local pid=$1 deadline
  kill -INT "$pid" 2>/dev/null || true
  deadline=$(( $(now_us) + STOP_TIMEOUT_S * 1000000 ))
  while is_postmaster_pid "$pid"; do
    if (( $(now_us) > deadline )); then
      log "postgres (pid $pid) still shutting down after ${STOP_TIMEOUT_S}s; killing it"
      kill_cluster "$pid"
      break
    fi
    sleep 0.1
  done
  # Only reaps when the process is our own child (a failed start).
  wait "$pid" 2>/dev/null || true
}

cmd_start() {
  local pid t0
  if pid=$(running_pid); then
    log "postgres already running on 127.0.0.1:$(cluster_port) (pid $pid)"
    echo "export PG_DSN='$(pg_dsn)'"
    return 0
  fi
  if ! [[ $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
    die "POSTGRES_PORT must be a port number, got '$port'"
  fi
  port_in_use "$port" &&
    die "127.0.0.1:$port is already in use by another process; stop it or set POSTGRES_PORT"
  require_tools
  check_socket_path

  t0=$(now_us)
  : >"$log_file"
  prepare_server_user
  init_cluster
  launch "$t0"
  create_database
  log "database $DB_NAME ready ($(elapsed_since "$t0") s in all)"
  echo "export PG_DSN='$(pg_dsn)'"
}

# A killed postmaster leaves its lock files (postmaster.pid in the data
# directory, .s.PGSQL.PORT.lock by the socket), which PostgreSQL itself
# ignores once the pid in them is gone; but where PID 1 does not reap
# orphans (containers, sandboxes) that pid stays a zombie for a while,
# which kill(pid, 0) still finds, and the new postmaster would refuse to
# start. Such files go. (The old server's shared memory is checked all the
# same: PostgreSQL finds its segment by the data directory, and refuses
# while any process is attached to it.)
clear_zombie_locks() {
  local lock pid stat
  for lock in "$data_dir/postmaster.pid" "$state_dir"/.s.PGSQL.*.lock; do
    [[ -f $lock ]] || continue
    read -r pid <"$lock" || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    [[ ${stat%% *} == Z ]] || continue
    log "removing $lock: its postmaster (pid $pid) is dead, an unreaped zombie"
    rm -f "$lock"
  done
}

# Starts the server on the data dir as it is: after a kill, PostgreSQL
# replays its WAL before it accepts connections, so every commit it had
# acknowledged is there.
cmd_resume() {
  local pid t0
  if pid=$(running_pid); then
    log "postgres already running on 127.0.0.1:$(cluster_port) (pid $pid)"
    echo "export PG_DSN='$(pg_dsn)'"
    return 0
  fi
  [[ -f $data_dir/PG_VERSION && -f $config_file ]] ||
    die "no cluster in $data_dir to resume; use: $0 start"
  port=$(cluster_port)
  port_in_use "$port" &&
    die "127.0.0.1:$port is already in use by another process; stop it first"
  require_tools
  server_user_is "$(stat -c %U "$data_dir")"
  t0=$(now_us)
  log "resuming postgres on $data_dir"
  launch "$t0"
  echo "export PG_DSN='$(pg_dsn)'"
}

# launch T0: starts the postmaster on $data_dir and waits until it accepts
# connections; T0 (now_us) is when the whole start began, for the log line.
launch() {
  local t0=$1 pid deadline why log_start
  # Where this launch's lines begin, for the tail on failure.
  log_start=$(( $(stat -c %s "$log_file" 2>/dev/null || echo 0) + 1 ))
  clear_zombie_locks
  # As in kafka.sh: no fd 9 (the state-dir lock) for the server, and setsid
  # so that it outlives this shell; setsid and setpriv exec in place, so the
  # postmaster keeps the pid $! reports. Its log (stderr) goes to $log_file.
  (
    cd "$state_dir"
    exec setsid "${as_server[@]}" "$PG_BIN/postgres" -D "$data_dir"
  ) </dev/null >>"$log_file" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"

  deadline=$(( $(now_us) + START_TIMEOUT_S * 1000000 ))
  # pg_isready says yes only once recovery is over and logins are allowed.
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$SUPERUSER" \
      -d postgres -t 5; do
    why=
    if ! is_postmaster_pid "$pid"; then
      why="postgres exited during startup"
    elif (( $(now_us) > deadline )); then
      why="postgres did not accept connections within ${START_TIMEOUT_S}s"
    fi
    if [[ -n $why ]]; then
      log "$why; its last lines in $log_file:"
      tail -c "+$log_start" "$log_file" | tail -n 40 >&2
      if is_postmaster_pid "$pid"; then
        stop_pid "$pid"
      fi
      rm -f "$pid_file"
      exit 1
    fi
    sleep 0.05
  done
  log "postgres up on 127.0.0.1:$port and $state_dir (pid $pid, $(elapsed_since "$t0") s)"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    log "postgres not running"
    return 0
  fi
  log "stopping postgres (pid $pid)..."
  stop_pid "$pid"
  rm -f "$pid_file"
  log "postgres stopped"
}

cmd_kill() {
  local pid
  if ! pid=$(running_pid); then
    log "postgres not running"
    return 0
  fi
  kill_cluster "$pid"
  rm -f "$pid_file"
  log "postgres killed (pid $pid and its children, SIGKILL); its data is kept for: $0 resume"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    echo "running: pid $pid, PG_DSN='$(pg_dsn)', socket $state_dir"
    return 0
  fi
  echo "not running"
  return 3
}

# psql in place of this script: libpq's variables rather than options, so
# that the caller's -U, -d or -h win. It holds no lock (it closes fd 9), or
# a session would block every stop.
cmd_psql() {
  running_pid >/dev/null ||
    die "no postgres running for $state_dir; start it with: $0 start"
  exec 9>&-
  PGHOST=$state_dir PGPORT=$(cluster_port) PGUSER=$DB_USER \
    PGDATABASE=$DB_NAME exec "$PG_BIN/psql" "$@"
}

usage() {
  echo "usage: $0 start|stop|status|kill|resume|restart" >&2
  echo "       $0 psql [PSQL-ARGS...]" >&2
  exit 2
}

main() {
  case ${1:-} in
    start | stop | status | kill | resume | restart) [[ $# -eq 1 ]] || usage ;;
    psql) ;;
    *) usage ;;
  esac
  # Serialise start/stop/status on one state dir, as kafka.sh does.
  lock_state_dir "$state_dir"
  state_dir=$(cd "$state_dir" && pwd)
  # It goes into postgresql.conf between single quotes.
  [[ $state_dir != *\'* ]] || die "POSTGRES_HOME_DIR must not contain a quote: $state_dir"
  data_dir=$state_dir/data
  config_file=$data_dir/postgresql.conf
  pid_file=$state_dir/postgres.pid
  log_file=$state_dir/postgres.log

  case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    kill) cmd_kill ;;
    resume) cmd_resume ;;
    restart) cmd_stop && cmd_resume ;;
    psql) cmd_psql "${@:2}" ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# Run Google's Cloud Pub/Sub emulator on 127.0.0.1 for development and
# integration tests.
#
#   scripts/pubsub-emulator.sh start    start a FRESH emulator (no topics, no
#                                       subscriptions), wait until it answers,
#                                       print `export PUBSUB_EMULATOR_HOST=...`
#                                       on stdout (eval "$(... start)" works)
#   scripts/pubsub-emulator.sh stop     stop it (exit 0 if nothing was running)
#   scripts/pubsub-emulator.sh status   exit 0 if running, 3 if not
#
# Environment:
#   PUBSUB_HOME_DIR       state directory (default: <repo>/.pubsub, git-ignored)
#   PUBSUB_EMULATOR_PORT  port (default 8085, the emulator's usual one)
#   CLOUDSDK_ROOT_DIR     the Google Cloud SDK to take the emulator from;
#                         unset: the SDK `gcloud` belongs to, then
#                         /usr/lib/google-cloud-sdk, /usr/share/google-cloud-sdk
#
# The emulator ships with the Google Cloud SDK (Debian package
# google-cloud-cli-pubsub-emulator) and needs Java. We run its own launcher
# rather than `gcloud beta emulators pubsub start`, which puts a Python
# process in front of a child JVM that a stop would have to hunt down.
set -euo pipefail

readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=20
readonly EMULATOR_PATTERN=cloud-pubsub-emulator

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

port=${PUBSUB_EMULATOR_PORT:-8085}
# Made absolute, and the paths under it set, in main().
state_dir=${PUBSUB_HOME_DIR:-$repo_root/.pubsub}

log() { printf 'pubsub-emulator.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib/daemon.sh
source "$script_dir/lib/daemon.sh"
# shellcheck source-path=SCRIPTDIR source=lib/emulator.sh
source "$script_dir/lib/emulator.sh"

# The launcher execs the JVM, whose command line names the emulator's jar.
is_emulator_pid() { is_live_process "$1" "$EMULATOR_PATTERN"; }

# Prints the recorded pid if that emulator is alive; otherwise cleans up a
# stale pid file and fails.
running_pid() {
  recorded_pid "$pid_file" is_emulator_pid || { rm -f "$host_file"; return 1; }
}

# The address the running emulator listens on, as `start` recorded it, so
# `status` is right even when PUBSUB_EMULATOR_PORT differs from what `start`
# used.
emulator_host() {
  if [[ -s $host_file ]]; then
    cat "$host_file"
  else
    echo "127.0.0.1:$port"
  fi
}

port_in_use() {
  # A successful connect means something is listening; bash's /dev/tcp avoids
  # depending on ss/netstat output formats.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the emulator's launcher, from the first SDK that has one.
find_launcher() {
  local dir
  if dir=$(emulator_sdk_dir); then
    echo "$dir/bin/cloud-pubsub-emulator"
    return 0
  fi
  log "error: the Pub/Sub emulator is not installed (looked in: $dir)."
  log "Install the Debian package google-cloud-cli-pubsub-emulator from Google's"
  log "apt repository (see https://cloud.google.com/sdk/docs/install#deb) and"
  log "Java (sudo apt-get install -y default-jre-headless), or point"
  log "CLOUDSDK_ROOT_DIR at a Google Cloud SDK that has the pubsub-emulator"
  log "component (gcloud components install pubsub-emulator)."
  return 1
}

stop_pid() { stop_process "$1" "$EMULATOR_PATTERN" "$STOP_TIMEOUT_S"; }

cmd_start() {
  local pid t0 deadline why launcher host
  if pid=$(running_pid); then
    host=$(emulator_host)
    log "emulator already running on $host (pid $pid)"
    echo "export PUBSUB_EMULATOR_HOST=$host"
    return 0
  fi
  if ! [[ $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
    die "PUBSUB_EMULATOR_PORT must be a port number, got '$port'"
  fi
  if port_in_use "$port"; then
    die "127.0.0.1:$port is already in use by another process; stop it or set PUBSUB_EMULATOR_PORT"
  fi
  launcher=$(find_launcher) || exit 1
  command -v java >/dev/null ||
    die "java not found; the emulator needs Java (sudo apt-get install -y default-jre-headless)"

  t0=$(now_us)
  # The emulator keeps topics and subscriptions in memory, so a new process
  # is a fresh state; its working directory is wiped as well, so nothing an
  # earlier run wrote there survives either.
  rm -rf "$data_dir"
  mkdir -p "$data_dir"
  : >"$log_file"
  host=127.0.0.1:$port

  # As in kafka.sh: no fd 9 (the state-dir lock) for the JVM, and setsid so
  # it outlives this shell; the launcher execs java, which keeps the pid $!
  # reports.
  (
    cd "$data_dir"
    exec setsid "$launcher" --host=127.0.0.1 --port="$port"
  ) </dev/null >>"$log_file" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"
  echo "$host" >"$host_file"

  deadline=$(( $(now_us) + START_TIMEOUT_S * 1000000 ))
  until emulator_answers "127.0.0.1:$port"; do
    why=
    if ! is_emulator_pid "$pid"; then
      why="emulator exited during startup"
    elif (( $(now_us) > deadline )); then
      why="emulator did not answer GET / within ${START_TIMEOUT_S}s"
    fi
    if [[ -n $why ]]; then
      log "$why; last lines of $log_file:"
      tail -n 40 "$log_file" >&2
      stop_pid "$pid"
      rm -f "$pid_file" "$host_file"
      exit 1
    fi
    sleep 0.2
  done
  log "emulator up on $host (pid $pid, $(elapsed_since "$t0") s); use PUBSUB_EMULATOR_HOST=$host"
  echo "export PUBSUB_EMULATOR_HOST=$host"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    log "emulator not running"
    return 0
  fi
  log "stopping emulator (pid $pid)..."
  stop_pid "$pid"
  rm -f "$pid_file" "$host_file"
  log "emulator stopped"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    echo "running: pid $pid, PUBSUB_EMULATOR_HOST=$(emulator_host)"
    return 0
  fi
  echo "not running"
  return 3
}

usage() {
  echo "usage: $0 start|stop|status" >&2
  exit 2
}

main() {
  [[ $# -eq 1 ]] || usage
  case $1 in
    start | stop | status) ;;
    *) usage ;;
  esac
  # Serialise start/stop/status on one state dir, as kafka.sh does.
  lock_state_dir "$state_dir"
  state_dir=$(cd "$state_dir" && pwd)
  data_dir=$state_dir/data
  pid_file=$state_dir/emulator.pid
  host_file=$state_dir/emulator.host
  log_file=$state_dir/emulator.log

  case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
  esac
}

main "$@"

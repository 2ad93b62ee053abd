# shellcheck shell=bash
# The variables below come from the sourcing script:
# shellcheck disable=SC2154
# start, stop, status, pause and resume for the Cloud SDK's emulators
# (scripts/pubsub-emulator.sh, scripts/firestore-emulator.sh), which differ
# only in how the JVM is found, launched and asked whether it is ready;
# sourced, never run. Brings lib/daemon.sh and lib/emulator.sh along.
#
# The sourcing script sets:
#   emu_host_var  the variable `start` prints (PUBSUB_EMULATOR_HOST)
#   emu_port_var  the variable that chose port (PUBSUB_EMULATOR_PORT)
#   emu_pattern   a word of the JVM's command line that no other process
#                 has (cloud-pubsub-emulator): how a pid file is checked
#   port          the port `start` listens on, on 127.0.0.1
#   state_dir     where the pid, address, log and the emulator's working
#                 directory live
# and defines emu_find (prints what emu_launch needs, or says how to
# install the emulator and fails), emu_launch FOUND PORT (execs the JVM,
# which must keep the pid: the launcher must exec java, not fork it) and
# emu_ready HOST:PORT (true once the emulator's API answers there). Then it
# calls emu_main with the commands it offers.

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
# shellcheck source-path=SCRIPTDIR source=daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"
# shellcheck source-path=SCRIPTDIR source=emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/emulator.sh"

readonly EMU_START_TIMEOUT_S=60
readonly EMU_STOP_TIMEOUT_S=20

# emu_main COMMANDS ARG...: runs the one command in ARG, which must be one
# of the space-separated COMMANDS, or prints the usage.
emu_main() {
  local commands=$1
  shift
  if [[ $# -ne 1 || " $commands " != *" $1 "* ]]; then
    echo "usage: $0 ${commands// /|}" >&2
    exit 2
  fi
  emu_open_state_dir "$state_dir"
  "emu_cmd_$1"
}

# emu_open_state_dir DIR: locks DIR, so that two calls never start or stop
# the same emulator at once.
emu_open_state_dir() {
  lock_state_dir "$1"
  emu_state_dir=$(cd "$1" && pwd)
  emu_data_dir=$emu_state_dir/data
  emu_pid_file=$emu_state_dir/emulator.pid
  emu_host_file=$emu_state_dir/emulator.host
  emu_log_file=$emu_state_dir/emulator.log
}

emu_is_pid() { is_live_process "$1" "$emu_pattern"; }

# Prints the recorded pid if that emulator is alive; otherwise cleans up a
# stale pid file and fails.
emu_running_pid() {
  recorded_pid "$emu_pid_file" emu_is_pid || {
    rm -f "$emu_host_file"
    return 1
  }
}

# The address the running emulator listens on, as `start` recorded it, so
# that `status` is right even when the port variable differs from what
# `start` used.
emu_host() {
  if [[ -s $emu_host_file ]]; then
    cat "$emu_host_file"
  else
    echo "127.0.0.1:$port"
  fi
}

# True while PID is stopped by `pause` (state T).
emu_is_paused() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} == T ]]
}

port_in_use() {
  # A successful connect means something is listening; bash's /dev/tcp avoids
  # depending on ss/netstat output formats.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A stopped JVM would hold SIGTERM pending forever: let it run to die.
emu_stop_pid() {
  kill -CONT "$1" 2>/dev/null || true
  stop_process "$1" "$emu_pattern" "$EMU_STOP_TIMEOUT_S"
}

# emu_wait_answers PID: waits until the emulator answers on its address;
# fails, with the log's tail, if it exits or stays silent too long.
emu_wait_answers() {
  local pid=$1 deadline why host
  host=$(emu_host)
  deadline=$(($(now_us) + EMU_START_TIMEOUT_S * 1000000))
  until emu_ready "$host"; do
    why=
    if ! emu_is_pid "$pid"; then
      why="emulator exited"
    elif (($(now_us) > deadline)); then
      why="emulator did not answer within ${EMU_START_TIMEOUT_S}s"
    fi
    if [[ -n $why ]]; then
      log "$why; last lines of $emu_log_file:"
      tail -n 40 "$emu_log_file" >&2
      return 1
    fi
    sleep 0.2
  done
}

emu_cmd_start() {
  local pid t0 found host
  if pid=$(emu_running_pid); then
    host=$(emu_host)
    if emu_is_paused "$pid"; then
      log "emulator on $host (pid $pid) was paused; resuming it"
      emu_cmd_resume >/dev/null
    else
      log "emulator already running on $host (pid $pid)"
    fi
    echo "export $emu_host_var=$host"
    return 0
  fi
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    die "$emu_port_var must be a port number, got '$port'"
  fi
  if port_in_use "$port"; then
    die "127.0.0.1:$port is already in use by another process; stop it or set $emu_port_var"
  fi
  found=$(emu_find) || exit 1
  command -v java >/dev/null ||
    die "java not found; the emulator needs Java (sudo apt-get install -y default-jre-headless)"

  t0=$(now_us)
  # The emulator keeps its state in memory, so a new process is a fresh
  # one; its working directory is wiped as well, so nothing an earlier run
  # wrote there survives either.
  rm -rf "$emu_data_dir"
  mkdir -p "$emu_data_dir"
  : >"$emu_log_file"
  host=127.0.0.1:$port

  # As in kafka.sh: no fd 9 (the state-dir lock) for the JVM, and setsid so
  # it outlives this shell; emu_launch execs java, which keeps the pid $!
  # reports.
  (
    cd "$emu_data_dir" || exit 1
    emu_launch "$found" "$port"
  ) </dev/null >>"$emu_log_file" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$emu_pid_file"
  echo "$host" >"$emu_host_file"

  if ! emu_wait_answers "$pid"; then
    emu_stop_pid "$pid"
    rm -f "$emu_pid_file" "$emu_host_file"
    exit 1
  fi
  log "emulator up on $host (pid $pid, $(elapsed_since "$t0") s); use $emu_host_var=$host"
  echo "export $emu_host_var=$host"
}

emu_cmd_stop() {
  local pid
  if ! pid=$(emu_running_pid); then
    log "emulator not running"
    return 0
  fi
  log "stopping emulator (pid $pid)..."
  emu_stop_pid "$pid"
  rm -f "$emu_pid_file" "$emu_host_file"
  log "emulator stopped"
}

emu_cmd_status() {
  local pid
  if pid=$(emu_running_pid); then
    echo "running: pid $pid, $emu_host_var=$(emu_host)$(
      ! emu_is_paused "$pid" || echo ' (paused)'
    )"
    return 0
  fi
  echo "not running"
  return 3
}

# SIGSTOP freezes every thread of the JVM: connections are still accepted
# by the kernel but never answered, as with a hung server, and the data in
# its memory stays.
emu_cmd_pause() {
  local pid deadline
  pid=$(emu_running_pid) || die "emulator not running"
  kill -STOP "$pid"
  deadline=$(($(now_us) + EMU_STOP_TIMEOUT_S * 1000000))
  until emu_is_paused "$pid"; do
    (($(now_us) < deadline)) || die "emulator (pid $pid) did not stop on SIGSTOP"
    sleep 0.05
  done
  log "emulator (pid $pid) paused; resume it with: $0 resume"
}

emu_cmd_resume() {
  local pid
  pid=$(emu_running_pid) || die "emulator not running"
  kill -CONT "$pid"
  emu_wait_answers "$pid" || exit 1
  log "emulator (pid $pid) resumed on $(emu_host)"
}

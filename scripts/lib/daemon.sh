# shellcheck shell=bash
# Helpers for the scripts that run a service in the background and stop it
# again (kafka.sh, pubsub-emulator.sh, postgres.sh, docker.sh); sourced,
# never run. The sourcing script defines log().

# Microseconds since the epoch; EPOCHREALTIME's decimal separator follows the
# locale, so keep digits only.
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# Seconds since START_US (now_us), with one decimal, for progress lines.
elapsed_since() {
  local us=$(( $(now_us) - $1 ))
  printf '%d.%d' $(( us / 1000000 )) $(( us % 1000000 / 100000 ))
}

# recorded_pid PID_FILE CHECK: prints the pid PID_FILE holds if the command
# CHECK (is_live_process with the service's pattern) accepts it; otherwise
# removes the stale file and fails.
recorded_pid() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  if "$2" "$pid"; then
    echo "$pid"
    return 0
  fi
  rm -f "$1"
  return 1
}

# is_live_process PID PATTERN: true if PID is a live (not zombie) process
# whose command line contains PATTERN. Checking the command line, not just
# `kill -0`, keeps a stale pid file from making us signal an unrelated
# process that reused the pid; checking for zombies matters where PID 1 does
# not reap orphans promptly (containers, sandboxes), or a stop would wait
# for a corpse.
is_live_process() {
  local pid=$1 pattern=$2 stat cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  # Field 3 (state) follows the parenthesised command name.
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$pattern"* ]]
}

# stop_process PID PATTERN TIMEOUT_S: SIGTERM, then SIGKILL if the process
# (checked as is_live_process does) is still there after TIMEOUT_S.
stop_process() {
  local pid=$1 pattern=$2 timeout_s=$3 deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(now_us) + timeout_s * 1000000))
  while is_live_process "$pid" "$pattern"; do
    if (($(now_us) > deadline)); then
      log "$pattern (pid $pid) ignored SIGTERM for ${timeout_s}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$(($(now_us) + 5 * 1000000))
      while is_live_process "$pid" "$pattern" && (($(now_us) < deadline)); do
        sleep 0.1
      done
      break
    fi
    sleep 0.2
  done
  # Only reaps when the process is our own child (a failed start).
  wait "$pid" 2>/dev/null || true
}

# lock_state_dir DIR: creates DIR and holds its lock on fd 9 until the
# script exits, so that two callers never start or stop the same service at
# once. A daemon the script starts must be started with 9>&-, or it would
# hold the lock for as long as it runs.
lock_state_dir() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock 9
}

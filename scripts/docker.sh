#!/usr/bin/env bash
# A Docker engine and a bare Debian 12 base image, for the fresh-machine
# check (scripts/fresh-check.sh) and for any later container work.
#
#   scripts/docker.sh start       start dockerd unless an engine already answers,
#                                 and wait until it does
#   scripts/docker.sh stop        stop the dockerd that `start` started; an engine
#                                 it found running is never touched
#   scripts/docker.sh status      exit 0 if an engine answers, 3 if not
#   scripts/docker.sh base-image  print the base image's name, building it first
#                                 when the engine does not have it yet
#
# The base image is `debootstrap --variant=minbase bookworm` imported as is:
# what a newcomer's bare Debian 12 has, nothing more. It is built once and
# kept in the engine's image store, which outlives any clone of this repo.
#
# Environment:
#   DOCKER_HOME_DIR  state directory: pid and log of the dockerd `start`
#                    launched (default: <repo>/.docker, git-ignored)
#   EV_BASE_IMAGE    name of the base image (default: event-ingest/debian:bookworm)
#   DEBIAN_MIRROR    mirror for debootstrap (default: this machine's own, read
#                    from its apt sources)
#
# docker.io and debootstrap are installed with scripts/setup.sh --docker when
# missing.
set -euo pipefail

readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=30

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
state_dir=${DOCKER_HOME_DIR:-$repo_root/.docker}
image=${EV_BASE_IMAGE:-event-ingest/debian:bookworm}

log() { printf 'docker.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib/daemon.sh
source "$script_dir/lib/daemon.sh"

engine_up() { docker info >/dev/null 2>&1; }

is_dockerd_pid() { is_live_process "$1" dockerd; }

# dockerd stops its containers and the containerd it manages before exiting.
stop_pid() { stop_process "$1" dockerd "$STOP_TIMEOUT_S"; }

cmd_start() {
  local pid deadline
  if engine_up; then
    log "a Docker engine already answers; using it"
    return 0
  fi
  "$script_dir/setup.sh" --docker
  : >"$log_file"
  # setsid: dockerd outlives this shell and ignores its terminal's signals.
  # It must not inherit fd 9, or it would hold the state-dir lock.
  setsid dockerd </dev/null >>"$log_file" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"
  deadline=$(($(now_us) + START_TIMEOUT_S * 1000000))
  until engine_up; do
    if ! is_dockerd_pid "$pid" || (($(now_us) > deadline)); then
      log "dockerd did not answer within ${START_TIMEOUT_S}s; last lines of $log_file:"
      tail -n 30 "$log_file" >&2
      stop_pid "$pid"
      rm -f "$pid_file"
      exit 1
    fi
    sleep 0.2
  done
  log "dockerd up (pid $pid, log $log_file)"
}

cmd_stop() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null || true)
  if [[ -z $pid ]] || ! is_dockerd_pid "$pid"; then
    rm -f "$pid_file"
    log "no dockerd started by this script is running"
    return 0
  fi
  log "stopping dockerd (pid $pid)..."
  stop_pid "$pid"
  rm -f "$pid_file"
  log "dockerd stopped"
}

cmd_status() {
  if engine_up; then
    echo "running: $(docker version --format 'Docker Engine {{.Server.Version}}')"
    return 0
  fi
  echo "not running"
  return 3
}

# The bookworm main source of this machine's apt: the mirror a newcomer's
# machine would use, and the only one this machine may reach.
apt_mirror() {
  # shellcheck disable=SC2016 # $(REPO_URI) is apt's template, not ours
  apt-get indextargets --format '$(REPO_URI)' 'Release: bookworm' \
    'Component: main' 'Created-By: Packages' | head -n 1
}

cmd_base_image() {
  local mirror t0=$SECONDS
  engine_up || die "no Docker engine answers; start one with: $0 start"
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    return 0
  fi
  "$script_dir/setup.sh" --docker
  mirror=${DEBIAN_MIRROR:-$(apt_mirror)}
  [[ -n $mirror ]] ||
    die "no Debian bookworm main source in this machine's apt sources; set DEBIAN_MIRROR"
  log "building $image: debootstrap --variant=minbase bookworm from $mirror..."
  # A build that was killed left its tree behind; under the lock, any tree
  # here is such a leftover.
  rm -rf --one-file-system "$state_dir"/rootfs.*
  # Global, for the EXIT trap. --one-file-system: should debootstrap die
  # with /proc mounted in the target, rm must not descend into it.
  rootfs=$(mktemp -d "$state_dir/rootfs.XXXXXX")
  trap 'rm -rf --one-file-system "$rootfs"' EXIT
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" \
      >"$state_dir/debootstrap.log" 2>&1; then
    tail -n 20 "$state_dir/debootstrap.log" >&2
    die "debootstrap failed; see $state_dir/debootstrap.log"
  fi
  tar -C "$rootfs" -c . |
    docker import --change \
      'LABEL org.opencontainers.image.description="bare Debian 12: debootstrap --variant=minbase bookworm"' \
      - "$image" >/dev/null
  log "built $image in $((SECONDS - t0)) s"
  echo "$image"
}

usage() {
  echo "usage: $0 start|stop|status|base-image" >&2
  exit 2
}

main() {
  [[ $# -eq 1 ]] || usage
  case $1 in
    start | stop | status | base-image) ;;
    *) usage ;;
  esac
  # One caller at a time: two checks starting at once must not launch two
  # daemons or debootstrap the same image twice.
  lock_state_dir "$state_dir"
  state_dir=$(cd "$state_dir" && pwd)
  pid_file=$state_dir/dockerd.pid
  log_file=$state_dir/dockerd.log
  "cmd_${1/-/_}"
}

main "$@"

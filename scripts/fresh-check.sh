#!/usr/bin/env bash
# The newcomer's path, proved on a bare Debian 12: a `git archive` of the
# repo goes into a fresh container of the base image (scripts/docker.sh
# base-image: debootstrap minbase, nothing preinstalled), which runs
# tests/fresh/in-container.sh: the demo, setup.sh --test, both builds and the
# unit tests. A missing install step fails here instead of on a user's machine.
#
#   scripts/fresh-check.sh [REF]    check commit REF (default HEAD; uncommitted
#                                   changes are not in it: `git stash create`
#                                   gives a REF that has them)
#
# It starts dockerd when no engine answers and stops it again at the end; it
# leaves no container behind, only the cached base image. ctest runs it as
# the test `fresh` (label fresh), which scripts/test.sh runs once.
#
# Environment: EV_BASE_IMAGE, DEBIAN_MIRROR, DOCKER_HOME_DIR (see docker.sh);
# FRESH_TIMEOUT, seconds the container may run (default 900).
set -euo pipefail

log() { printf 'fresh-check.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The container runs the check's inner half, never this script: docker inside
# docker would need a privileged container and would prove nothing more.
[[ -z ${EV_FRESH_CHECK_CONTAINER:-} ]] ||
  die "already inside a fresh-check container; not starting another"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
docker_sh=$repo_root/scripts/docker.sh
ref=${1:-HEAD}
timeout_s=${FRESH_TIMEOUT:-900}
readonly label=event-ingest.fresh-check

commit=$(git -C "$repo_root" rev-parse --verify --quiet "$ref^{commit}") ||
  die "'$ref' is not a commit of $repo_root"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] ||
  die "FRESH_TIMEOUT must be a whole number of seconds, got '$timeout_s'"

started_engine=false
container=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local rc=$?
  if [[ -n $container ]]; then
    docker rm -f "$container" >/dev/null 2>&1 || true
  fi
  if $started_engine; then
    "$docker_sh" stop || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT

t0=$SECONDS
if ! "$docker_sh" status >/dev/null; then
  started_engine=true
  "$docker_sh" start
fi

# A run that was killed (a ctest timeout, a session's end) cannot have
# removed its container; this one does.
stale=$(docker ps -aq --filter "label=$label")
if [[ -n $stale ]]; then
  log "removing containers left by an earlier run: ${stale//$'\n'/ }"
  # shellcheck disable=SC2086 # one id per word
  docker rm -f $stale >/dev/null
fi

image=$("$docker_sh" base-image)
container=event-ingest-fresh-$$
log "checking ${commit:0:12} in a fresh container of $image"
docker create --name "$container" --label "$label" --init \
  -e EV_FRESH_CHECK_CONTAINER=1 -w /src "$image" \
  bash tests/fresh/in-container.sh >/dev/null
git -C "$repo_root" archive --format=tar --prefix=src/ "$commit" |
  docker cp - "$container:/"

rc=0
timeout "$timeout_s" docker start --attach "$container" || rc=$?
case $rc in
  0) log "ok: the newcomer's path works on a bare Debian 12 (total $((SECONDS - t0)) s)" ;;
  124) die "the container ran longer than ${timeout_s}s (FRESH_TIMEOUT)" ;;
  *) die "the newcomer's path failed in the container (exit $rc; see above)" ;;
esac

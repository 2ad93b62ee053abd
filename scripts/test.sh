#!/usr/bin/env bash
# Every test, on a fresh machine: install what is missing, build twice
# (warnings as errors; then with AddressSanitizer + UBSan), start a real
# Apache Kafka broker, the Google Cloud Pub/Sub emulator, a PostgreSQL 15
# server (for the postgres sink; scripts/postgres.sh) and the Google Cloud
# Firestore emulator (for the firestore sink and the gateway tests;
# scripts/firestore-emulator.sh), install Google's
# Python Pub/Sub client for the interop test, run the whole ctest suite
# against both builds, stop what was started. The slow suites run once,
# with the first build only: the fresh-machine check (label fresh: a bare
# Debian 12 container, scripts/fresh-check.sh) tests the committed tree
# rather than a build, and the compose test (label compose:
# docker-compose.yml on the Docker engine, tests/compose/compose.sh) builds
# its own images from the tree; the fuzzers (label fuzz, scripts/fuzz.sh)
# have a clang build of their own; memcheck (label memory) runs the plain build
# under valgrind, which cannot run an ASan binary; the fault tests (label
# fault) kill consumers and the broker, or take Firestore away; the minute
# of gateway load (label load) is as slow under ASan and tells no more.
# Exits non-zero on any failure; a service that cannot start, or a client
# that cannot be installed, is a failure, never a skip.
#
# Environment: KAFKA_PORT (default 19092, so a development broker on 9092 is
# left alone), KAFKA_HOME_DIR (default <repo>/.kafka-test),
# PUBSUB_EMULATOR_PORT (default 18085, leaving a development emulator on 8085
# alone), PUBSUB_HOME_DIR (default <repo>/.pubsub-test), POSTGRES_PORT
# (default 15432, leaving a development server on 5432 alone),
# POSTGRES_HOME_DIR (default <repo>/.postgres-test), FIRESTORE_EMULATOR_PORT
# (default 18086, leaving a development emulator on 8086 alone),
# FIRESTORE_HOME_DIR (default <repo>/.firestore-test), IT_PUBSUB_VENV (the
# virtualenv for the Python client, default <repo>/.pubsub-venv). The tests
# get PG_DSN, the libpq connection string postgres.sh prints, and
# FIRESTORE_EMULATOR_HOST.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
log() { printf 'test.sh: %s\n' "$*" >&2; }

scripts/setup.sh --test
log "building build/ and build-asan/"
scripts/build.sh build
scripts/build.sh build-asan -DEV_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

status=0

# Google's client (google-cloud-pubsub) for tests/integration/pubsub_interop.sh,
# in a virtualenv kept between runs. As with kafka.sh's jars, a marker holds
# the hash of the requirements file: an unchanged file costs nothing, an
# edited one (a version bump) rebuilds the virtualenv. The marker is written
# last, so an interrupted install is redone.
venv=${IT_PUBSUB_VENV:-$repo_root/.pubsub-venv}
requirements=tests/integration/pubsub/requirements.txt
make_venv() {
  local want marker=$venv/.requirements.sha256
  want=$(sha256sum "$requirements")
  want=${want%% *}
  if [[ -f $marker && $(<"$marker") == "$want" && -x $venv/bin/python ]]; then
    return 0
  fi
  log "installing $requirements into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || return 1
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$requirements" || return 1
  echo "$want" >"$marker"
}
if make_venv; then
  export IT_PUBSUB_PYTHON=$venv/bin/python
else
  # The interop test then fails, naming IT_PUBSUB_PYTHON; the rest still runs.
  log "error: could not install $requirements into $venv"
  status=1
fi

export KAFKA_PORT=${KAFKA_PORT:-19092}
export KAFKA_HOME_DIR=${KAFKA_HOME_DIR:-$repo_root/.kafka-test}
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
export PUBSUB_EMULATOR_PORT=${PUBSUB_EMULATOR_PORT:-18085}
export PUBSUB_HOME_DIR=${PUBSUB_HOME_DIR:-$repo_root/.pubsub-test}
export POSTGRES_PORT=${POSTGRES_PORT:-15432}
export POSTGRES_HOME_DIR=${POSTGRES_HOME_DIR:-$repo_root/.postgres-test}
export FIRESTORE_EMULATOR_PORT=${FIRESTORE_EMULATOR_PORT:-18086}
export FIRESTORE_HOME_DIR=${FIRESTORE_HOME_DIR:-$repo_root/.firestore-test}

started=()
# Stops everything that was started, even when one stop fails.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local rc=$? script
  for script in "${started[@]}"; do
    "$script" stop || rc=1
  done
  exit "$rc"
}
trap cleanup EXIT

# start_service SCRIPT VAR: SCRIPT start prints `export VAR=VALUE` (VALUE
# in single quotes when it has blanks and no quote of its own, as
# postgres.sh's PG_DSN); VAR is exported with VALUE, and SCRIPT stopped at
# exit. An assignment, unlike eval "$(...)", fails this script when the
# start fails.
start_service() {
  local out value
  out=$("$1" start)
  started+=("$1")
  [[ $out == "export $2="* ]] || {
    log "error: ${1##*/} start printed '$out'"
    exit 1
  }
  value=${out#"export $2="}
  if [[ $value == \'*\' ]]; then
    value=${value#\'}
    value=${value%\'}
  fi
  export "$2=$value"
}

scripts/kafka.sh start
started+=(scripts/kafka.sh)
start_service scripts/pubsub-emulator.sh PUBSUB_EMULATOR_HOST
start_service scripts/postgres.sh PG_DSN
start_service scripts/firestore-emulator.sh FIRESTORE_EMULATOR_HOST
# shellcheck disable=SC2153 # exported by start_service
log "Kafka at $KAFKA_BOOTSTRAP_SERVERS, Pub/Sub emulator at $PUBSUB_EMULATOR_HOST," \
  "PostgreSQL at $PG_DSN, Firestore emulator at $FIRESTORE_EMULATOR_HOST"

log "ctest in build"
ctest --test-dir build --output-on-failure || status=1
log "ctest in build-asan (all but fresh, compose, fuzz, memory, fault and load)"
ctest --test-dir build-asan --output-on-failure \
  --label-exclude '^(fresh|compose|fuzz|memory|fault|load)$' || status=1
exit "$status"

#!/usr/bin/env bash
# Every test, on a fresh machine: install what is missing, build twice
# (warnings as errors; then with AddressSanitizer + UBSan), start a real
# Apache Kafka broker, run the whole ctest suite against both builds, stop
# the broker. The fresh-machine check (label fresh: a bare Debian 12
# container, scripts/fresh-check.sh) tests the committed tree rather than a
# build, so it runs once, with the first build. Exits non-zero on any
# failure; a service that cannot start is a failure, never a skip.
#
# Environment: KAFKA_PORT (default 19092, so a development broker on 9092 is
# left alone), KAFKA_HOME_DIR (default <repo>/.kafka-test).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
log() { printf 'test.sh: %s\n' "$*" >&2; }

scripts/setup.sh --test
log "building build/ and build-asan/"
scripts/build.sh build
scripts/build.sh build-asan -DEV_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

export KAFKA_PORT=${KAFKA_PORT:-19092}
export KAFKA_HOME_DIR=${KAFKA_HOME_DIR:-$repo_root/.kafka-test}
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
scripts/kafka.sh start
trap 'scripts/kafka.sh stop' EXIT

status=0
log "ctest in build"
ctest --test-dir build --output-on-failure || status=1
log "ctest in build-asan (all but fresh)"
ctest --test-dir build-asan --output-on-failure --label-exclude fresh ||
  status=1
exit "$status"

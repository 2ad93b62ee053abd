#!/usr/bin/env bash
# The seed scenario, end to end: the consumer runs in the background, the
# producer publishes 10 valid events and 3 malformed payloads, and the
# consumer shows the valid events on stdout and the 3 errors on stderr.
#
#   scripts/demo.sh            on event-devbroker, an in-memory development broker
#   scripts/demo.sh --kafka    on a real Apache Kafka broker (scripts/kafka.sh; needs Java)
#   KAFKA_BOOTSTRAP_SERVERS=host:port scripts/demo.sh   on a broker you already run
#   scripts/demo.sh --pubsub   on the Google Cloud Pub/Sub emulator
#                              (scripts/pubsub-emulator.sh; needs the Cloud SDK's
#                              emulator and Java), project GCP_PROJECT_ID
#                              (default event-ingest-demo); both binaries run
#                              with --create, so the topic and subscription appear
#   PUBSUB_EMULATOR_HOST=host:port scripts/demo.sh --pubsub   on an emulator you already run
#
# Only the consumer's valid events go to stdout (demo.sh 2>/dev/null shows
# just them); progress, delivery lines and the consumer's log go to stderr.
# Everything the demo starts, it stops.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
bin=$repo_root/build/bin
say() { printf '\n== %s\n' "$*" >&2; }

use_kafka=false
use_pubsub=false
case "${1:-}" in
  "") ;;
  --kafka) use_kafka=true ;;
  --pubsub) use_pubsub=true ;;
  *) echo "usage: $0 [--kafka|--pubsub]" >&2; exit 64 ;;
esac

if $use_kafka; then scripts/setup.sh --kafka; else scripts/setup.sh; fi
say "building"
scripts/build.sh build >&2

pids=()
started_kafka=false
started_emulator=false
# Flags both binaries get: the transport's, empty for Kafka.
transport=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $started_kafka; then scripts/kafka.sh stop || true; fi
  if $started_emulator; then scripts/pubsub-emulator.sh stop || true; fi
}
trap cleanup EXIT

# True once something accepts TCP connections at $1 (host:port).
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

if $use_pubsub; then
  export GCP_PROJECT_ID=${GCP_PROJECT_ID:-event-ingest-demo}
  if [[ -n ${PUBSUB_EMULATOR_HOST:-} ]]; then
    say "using the Pub/Sub emulator at $PUBSUB_EMULATOR_HOST"
  else
    say "starting the Pub/Sub emulator (scripts/pubsub-emulator.sh)"
    started_emulator=true
    # It prints `export PUBSUB_EMULATOR_HOST=HOST:PORT`.
    emulator_env=$(scripts/pubsub-emulator.sh start)
    export PUBSUB_EMULATOR_HOST=${emulator_env#export PUBSUB_EMULATOR_HOST=}
  fi
  # --create on both: whichever starts first makes the topic and the
  # subscription, and the producer never publishes to a topic without one.
  transport=(--transport pubsub --create)
elif [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
  say "using the broker at $KAFKA_BOOTSTRAP_SERVERS"
elif $use_kafka; then
  say "starting Apache Kafka (scripts/kafka.sh)"
  started_kafka=true
  scripts/kafka.sh start
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
else
  listen=${DEVBROKER_LISTEN:-127.0.0.1:9092}
  if port_open "$listen"; then
    echo "demo.sh: something already listens on $listen: stop it, or set DEVBROKER_LISTEN or KAFKA_BOOTSTRAP_SERVERS" >&2
    exit 69
  fi
  say "starting event-devbroker on $listen (in-memory, development only)"
  "$bin/event-devbroker" -l "$listen" -t "${KAFKA_TOPIC:-log-events}" &
  devbroker=$!
  pids+=("$devbroker")
  for _ in $(seq 50); do
    kill -0 "$devbroker" 2>/dev/null || break
    port_open "$listen" && break
    sleep 0.1
  done
  if ! kill -0 "$devbroker" 2>/dev/null || ! port_open "$listen"; then
    echo "demo.sh: event-devbroker did not start on $listen" >&2
    exit 69
  fi
  export KAFKA_BOOTSTRAP_SERVERS=$listen
fi

count=${EVENT_COUNT:-10}
malformed=${MALFORMED_COUNT:-3}
say "consumer (background): valid events on stdout, errors on stderr"
# --idle-exit bounds the demo if fewer messages than expected arrive.
"$bin/event-consumer" "${transport[@]}" --max-messages $((count + malformed)) \
  --idle-exit 20 &
consumer=$!
pids+=("$consumer")

say "producer (foreground): $count valid events, $malformed malformed payloads"
"$bin/event-producer" "${transport[@]}" --count "$count" \
  --malformed "$malformed" >&2

status=0
wait "$consumer" || status=$?
pids=("${pids[@]/$consumer/}")
say "done: consumer exited $status"
exit "$status"

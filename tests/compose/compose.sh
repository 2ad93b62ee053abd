#!/usr/bin/env bash
# The compose test (ctest label compose): docker-compose.yml for real, as a
# user runs it, on this machine's Docker engine.
#
#   1. installs docker.io and docker-compose from Debian if missing
#      (scripts/setup.sh --docker), and starts dockerd if no engine answers
#      (scripts/docker.sh; stopped again at the end, and only then);
#   2. makes the images no registry serves here (scripts/compose-images.sh);
#   3. checks that docker-compose accepts the files: docker-compose.yml, its
#      pubsub and postgres profiles, docker-compose.gcp.yml (and that the
#      latter's secret reaches the container read-only, at CREDENTIALS_PATH);
#   4. Kafka: `docker-compose up --build -d`, waits until the broker and the
#      consumer are healthy and the producer has exited 0, then asserts that
#      the consumer's log holds exactly the 10 valid events (its stdout) and
#      the 3 error lines, and that /healthz, /readyz and /metrics (counting
#      10 valid, 3 toxic) answer from another container on the compose
#      network and on the published loopback port; `docker-compose down -v`;
#   5. the same with the pubsub profile (the emulator, pubsub-consumer,
#      pubsub-producer);
#   6. the same with the postgres profile (the broker, the topic, the
#      producer, PostgreSQL and pg-consumer, which writes to stdout and to
#      PostgreSQL), and, once its table holds 10 rows, asserts with psql in
#      the postgres container that the table is exactly the 10 valid events
#      pg-consumer printed (as JSON; each valid, under the event_id of its
#      topic, partition and offset) and that no tombstone is recorded;
#   7. the gateway profile: `docker-compose --profile gateway up --build -d
#      gateway` (the Pub/Sub and Firestore emulators, firestore-consumer and
#      the gateway), waits until all four are healthy, posts a JSON request
#      to the gateway's published loopback port and a text/plain one from
#      another container on the compose network (http://gateway:8080),
#      each answered 202 with its tenant and log id, then finds both
#      documents in the Firestore emulator (its published port, REST):
#      tenants/{tenant}/processed_logs/{log_id}, source json_upload or
#      text_upload, original_text as sent, modified_data with the phone
#      number and e-mail address [REDACTED], processed_at a timestamp.
#
# Each run is a compose project of its own (event-ingest-test-PID-...), with
# free loopback ports and its own env file (the repository's .env and the
# caller's environment are not read), taken down however the test ends. A
# project left by a run that was killed is taken down by the next run.
# Docker, the engine or an image that cannot be made is a failure, never a
# skip. Environment: COMPOSE_TEST_TIMEOUT, seconds each wait may take
# (default 180); DOCKER_HOME_DIR, DEBIAN_MIRROR, CLOUDSDK_ROOT_DIR,
# COMPOSE_IMAGES_DIR are passed to the scripts.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly repo_root
readonly docker_sh=$repo_root/scripts/docker.sh
readonly check_py=$repo_root/tests/integration/check.py
readonly fs_py=$repo_root/tests/integration/gateway/firestore.py
readonly project_prefix=event-ingest-test-
# Every profile, for the commands that must see every service a project
# may have (ps, logs, run, and the `down` of a project left behind).
readonly all_profiles=(--profile pubsub --profile postgres --profile gateway)
wait_s=${COMPOSE_TEST_TIMEOUT:-180}
[[ $wait_s =~ ^[1-9][0-9]*$ ]] ||
  { echo "COMPOSE_TEST_TIMEOUT must be a whole number of seconds" >&2; exit 1; }

log() { printf 'compose.sh: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib/daemon.sh
source "$repo_root/scripts/lib/daemon.sh"
fail() {
  log "FAIL: $*"
  exit 1
}

tmp=$(mktemp -d)
started_engine=false
# Projects `up` may have created, for the EXIT trap: "NAME PROFILE-ARGS".
projects=()

# What docker-compose sees of the environment: only the machine's basics
# and the scripts' own settings, so that a LOG_LEVEL or KAFKA_TOPIC of the
# caller's (scripts/test.sh exports several) never reaches the containers.
clean_env() {
  local keep=(PATH HOME DOCKER_HOST DOCKER_HOME_DIR DEBIAN_MIRROR
    CLOUDSDK_ROOT_DIR COMPOSE_IMAGES_DIR) name args=()
  for name in "${keep[@]}"; do
    [[ -z ${!name+x} ]] || args+=("$name=${!name}")
  done
  env -i "${args[@]}" "$@"
}

# dc PROJECT [ARGS...]: docker-compose on the repository's docker-compose.yml
# as PROJECT, with the test's env file.
dc() {
  local project=$1
  shift
  (cd "$repo_root" &&
    clean_env docker-compose -p "$project" --env-file "$tmp/compose.env" "$@")
}

# down PROJECT [PROFILE-ARGS...]: removes its containers, network and volumes.
down() {
  local project=$1
  shift
  dc "$project" "$@" down -v --remove-orphans >"$tmp/down.log" 2>&1 || {
    cat "$tmp/down.log" >&2
    return 1
  }
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local rc=$? entry
  for entry in "${projects[@]}"; do
    # shellcheck disable=SC2086 # "NAME PROFILE-ARGS", split on purpose
    down $entry || rc=1
  done
  if $started_engine; then
    "$docker_sh" stop || rc=1
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

# A loopback port nothing listens on (docker-proxy included).
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  fail "no free loopback port found"
}

# A project a killed run left behind (no compose.sh runs as its PID) is
# taken down; another run's, still going, is left alone.
remove_stale_projects() {
  local name pid
  for name in $(docker ps -a --format '{{.Label "com.docker.compose.project"}}' |
    sort -u); do
    [[ $name == "$project_prefix"* ]] || continue
    pid=${name#"$project_prefix"}
    pid=${pid%%-*}
    if ! is_live_process "$pid" tests/compose/compose.sh; then
      log "taking down $name, left by an earlier run"
      down "$name" "${all_profiles[@]}" ||
        fail "could not take down $name, left by an earlier run"
    fi
  done
}

# state PROJECT SERVICE: the container's health when it has a check,
# else its state ("exited 0", "running").
state() {
  local id
  id=$(dc "$1" "${all_profiles[@]}" ps -q "$2" 2>/dev/null) || return 0
  [[ -n $id ]] || return 0
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{if eq .State.Status "exited"}} {{.State.ExitCode}}{{end}}{{end}}' "$id"
}

# show_logs PROJECT PROFILE-ARGS...: the end of every service's log.
show_logs() {
  local project=$1
  shift
  log "last lines of the services' logs:"
  dc "$project" "$@" logs --no-color --tail=60 >&2 || true
}

# wait_until PROJECT DESCRIPTION CMD...: runs CMD every second until it
# succeeds; fails after wait_s seconds, or at once when CMD exits 2.
wait_until() {
  local project=$1 what=$2 deadline=$((SECONDS + wait_s)) rc
  shift 2
  while :; do
    rc=0
    "$@" || rc=$?
    ((rc != 0)) || return 0
    if ((rc == 2 || SECONDS > deadline)); then
      ((rc == 2)) || log "not within ${wait_s}s (COMPOSE_TEST_TIMEOUT)"
      show_logs "$project" "${all_profiles[@]}"
      fail "$what"
    fi
    sleep 1
  done
}

# healthy PROJECT SERVICE: 0 once healthy, 2 when it can no longer be.
healthy() {
  local s
  s=$(state "$1" "$2")
  case $s in
    healthy) return 0 ;;
    exited* | dead) log "$2 is $s"; return 2 ;;
    *) return 1 ;;
  esac
}

# exited_ok PROJECT SERVICE: 0 once exited 0, 2 once exited otherwise.
exited_ok() {
  local s
  s=$(state "$1" "$2")
  case $s in
    "exited 0") return 0 ;;
    exited* | dead) log "$2 is $s"; return 2 ;;
    *) return 1 ;;
  esac
}

# logged_all PROJECT SERVICE: 0 once the service has logged 10 events and
# 3 error lines (or more).
logged_all() {
  local out=$tmp/$2.progress events errors
  dc "$1" "${all_profiles[@]}" logs --no-color --no-log-prefix "$2" >"$out" 2>&1 ||
    return 1
  events=$(grep -c '^{' "$out" || true)
  errors=$(grep -c '^ERROR: ' "$out" || true)
  ((events >= 10 && errors >= 3))
}

# endpoint PROJECT SERVICE: from a new container on the project's network
# (the consumer image has curl), GET /healthz, /readyz and /metrics of
# http://SERVICE:9100, failing at the first that does not answer 200;
# prints /metrics.
endpoint() {
  local url=http://$2:9100
  dc "$1" "${all_profiles[@]}" run --rm --no-deps -T --entrypoint curl "$2" \
    -fsS --fail-early --max-time 10 -o /dev/null "$url/healthz" \
    -o /dev/null "$url/readyz" "$url/metrics" 2>"$tmp/run.log" || {
    cat "$tmp/run.log" >&2
    return 1
  }
}

# The same through the port published on this machine's loopback.
host_get() {
  python3 -c '
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    sys.stdout.write(r.read().decode())
' "http://127.0.0.1:$1$2"
}

# pg PROJECT SQL: psql in the project's postgres container, on its socket
# as the database's owner; rows unaligned, one a line, fields split by |.
pg() {
  dc "$1" --profile postgres exec -T postgres psql -X -q -At \
    -v ON_ERROR_STOP=1 -U eventingest -d eventingest -c "$2"
}

# table_written PROJECT: 0 once pg-consumer's table holds 10 rows (or more).
table_written() {
  local n
  n=$(pg "$1" "SELECT count(*) FROM log_events" 2>/dev/null) || return 1
  ((n >= 10))
}

# check_table NAME PROJECT: the table is exactly the 10 valid events the
# consumer printed (in $tmp/NAME.stdout), each under the event_id the sink
# gives an event without one (topic/partition/offset), valid, from the
# topic; and no tombstone is recorded.
check_table() {
  local name=$1 project=$2 n
  wait_until "$project" "$name: pg-consumer did not write 10 rows to log_events" \
    table_written "$project"
  n=$(pg "$project" "SELECT count(*), count(DISTINCT event_id), bool_and(is_valid),
      bool_and(source_topic = 'log-events' AND event_id = source_topic || '/' ||
               source_partition || '/' || source_offset),
      bool_and(event_time = (payload->>'timestamp')::timestamptz),
      (SELECT count(*) FROM log_events__tombstones)
      FROM log_events") || fail "$name: psql on log_events failed"
  [[ $n == "10|10|t|t|t|0" ]] ||
    fail "$name: log_events: rows|ids|valid|ids from offsets|event_time|tombstones is $n, not 10|10|t|t|t|0"
  pg "$project" "SELECT payload FROM log_events" >"$tmp/$name.table" ||
    fail "$name: psql on log_events failed"
  # As JSON, in any order: jsonb keeps neither the key order nor the blanks.
  python3 -c '
import json, sys
def load(path):
    with open(path) as f:
        return sorted(json.dumps(json.loads(l), sort_keys=True) for l in f if l.strip())
printed, stored = load(sys.argv[1]), load(sys.argv[2])
if printed != stored:
    sys.exit("printed:\n  " + "\n  ".join(printed) + "\nstored:\n  " + "\n  ".join(stored))
' "$tmp/$name.stdout" "$tmp/$name.table" ||
    fail "$name: log_events' payloads are not the 10 events pg-consumer printed"
}

# scenario NAME BROKER CONSUMER PRODUCER METRICS-PORT [PROFILE-ARGS...] --
#          [SERVICES...]: `up --build -d` of SERVICES (all, when none), the
# waits, the checks, `down -v`.
scenario() {
  local name=$1 broker=$2 consumer=$3 producer=$4 port=$5 project t0 t
  local profile=() services=() id out n
  shift 5
  while [[ $1 != -- ]]; do profile+=("$1"); shift; done
  shift
  services=("$@")
  project=$project_prefix$$-$name
  t0=$SECONDS

  projects+=("$project ${profile[*]}")
  log "$name: docker-compose ${profile[*]} up --build -d ${services[*]}"
  if ! dc "$project" "${profile[@]}" up --build -d "${services[@]}" \
      >"$tmp/up.log" 2>&1; then
    tail -n 60 "$tmp/up.log" >&2
    fail "$name: docker-compose up failed"
  fi
  t=$SECONDS
  log "$name: up in $((t - t0)) s"

  wait_until "$project" "$name: $broker did not become healthy" \
    healthy "$project" "$broker"
  wait_until "$project" "$name: $consumer did not become healthy" \
    healthy "$project" "$consumer"
  wait_until "$project" "$name: $producer did not exit 0" \
    exited_ok "$project" "$producer"
  wait_until "$project" "$name: $consumer did not log 10 events and 3 errors" \
    logged_all "$project" "$consumer"
  log "$name: healthy, seed scenario consumed $((SECONDS - t)) s after up"

  # What a user reads: `docker-compose logs consumer`.
  out=$tmp/$name.logs
  dc "$project" "${profile[@]}" logs --no-color --no-log-prefix "$consumer" \
    >"$out" 2>&1
  n=$(grep -c '^{' "$out" || true)
  [[ $n == 10 ]] || fail "$name: docker-compose logs $consumer shows $n events, not 10"
  n=$(grep -c '^ERROR: Malformed JSON received: ' "$out" || true)
  [[ $n == 3 ]] || fail "$name: docker-compose logs $consumer shows $n error lines, not 3"
  # And the streams apart: stdout is exactly the 10 events, stderr holds
  # exactly 3 error records.
  id=$(dc "$project" "${profile[@]}" ps -q "$consumer")
  docker logs "$id" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr"
  python3 "$check_py" events "$tmp/$name.stdout" 10 ||
    fail "$name: the consumer's stdout is not exactly the 10 events"
  n=$(grep -c '^ERROR: ' "$tmp/$name.stderr" || true)
  [[ $n == 3 ]] || {
    cat "$tmp/$name.stderr" >&2
    fail "$name: the consumer's stderr has $n ERROR lines, not 3"
  }
  n=$(docker inspect -f '{{.RestartCount}}' "$id")
  [[ $n == 0 ]] || fail "$name: the consumer restarted $n times"
  if [[ $name == kafka ]]; then
    # Static membership: the consumer's host name is its --instance-id.
    n=$(docker exec "$id" cat /proc/1/cmdline | tr '\0' ' ')
    [[ $n == "event-consumer --instance-id consumer-1 " ]] ||
      fail "$name: the consumer runs as '$n', not with --instance-id consumer-1"
  fi

  # The endpoint, from another container on the compose network.
  endpoint "$project" "$consumer" >"$tmp/$name.metrics" ||
    fail "$name: GET /healthz, /readyz, /metrics of http://$consumer:9100 failed"
  if ! grep -qx 'event_ingest_messages_consumed_total{result="valid"} 10' \
    "$tmp/$name.metrics" ||
    ! grep -qx 'event_ingest_messages_consumed_total{result="toxic"} 3' \
      "$tmp/$name.metrics"; then
    grep '^event_ingest_messages' "$tmp/$name.metrics" >&2 || true
    fail "$name: /metrics does not count 10 valid and 3 toxic messages"
  fi
  # And on the port published on loopback.
  host_get "$port" /healthz >/dev/null ||
    fail "$name: GET http://127.0.0.1:$port/healthz failed"
  if [[ $name == postgres ]]; then
    check_table "$name" "$project"
    log "$name: log_events holds exactly the 10 valid events"
  fi

  down "$project" "${profile[@]}" || fail "$name: docker-compose down -v failed"
  unset 'projects[-1]'
  [[ -z $(docker ps -aq --filter "label=com.docker.compose.project=$project") ]] ||
    fail "$name: containers left after docker-compose down"
  [[ -z $(docker volume ls -q --filter "label=com.docker.compose.project=$project") ]] ||
    fail "$name: volumes left after docker-compose down -v"
  log "$name: ok ($((SECONDS - t0)) s)"
}

# posted NAME TENANT: the 202 body in $tmp/NAME.json names TENANT; prints
# its log id.
posted() {
  python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
if b.get("status") != "accepted" or b.get("tenant_id") != sys.argv[2] or \
        not b.get("log_id") or not b.get("message_id"):
    sys.exit("not accepted for %s: %r" % (sys.argv[2], b))
print(b["log_id"])
' "$tmp/$1.json" "$2" || fail "gateway: $1 was not accepted: $(cat "$tmp/$1.json")"
}

# stored PROJECT TENANT LOG_ID: 0 once the Firestore emulator's published
# port serves that document (into $tmp/doc-LOG_ID.json).
stored() {
  python3 "$fs_py" get "127.0.0.1:$firestore_port" "$1" "$2" "$3" \
    >"$tmp/doc-$3.json" 2>"$tmp/doc.err"
}

# check_doc LOG_ID SOURCE ORIGINAL REDACTED: the document fetched by stored.
check_doc() {
  python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
_, source, orig, red = sys.argv[1:]
bad = [k for k, v in (("source", source), ("original_text", orig),
                      ("modified_data", red)) if d.get(k) != v]
ts = d.get("processed_at", {})
if not isinstance(ts, dict) or not re.match(r"\d{4}-\d\d-\d\dT", ts.get("timestampValue", "")):
    bad.append("processed_at")
if bad:
    sys.exit("wrong %s in %r" % (", ".join(bad), d))
' "$tmp/doc-$1.json" "$2" "$3" "$4" || fail "gateway: document $1 is wrong"
}

# The gateway profile: HTTP -> event-gateway -> Pub/Sub emulator ->
# firestore-consumer (redacting) -> Firestore emulator.
gateway_scenario() {
  local project=$project_prefix$$-gateway t0=$SECONDS gcp tenant=compose-acme
  local json_id text_id service
  gcp=$(sed -n 's/^GCP_PROJECT_ID=//p' "$tmp/compose.env" | tail -n 1)
  projects+=("$project --profile gateway")
  log "gateway: docker-compose --profile gateway up --build -d gateway"
  if ! dc "$project" --profile gateway up --build -d gateway \
      >"$tmp/up.log" 2>&1; then
    tail -n 60 "$tmp/up.log" >&2
    fail "gateway: docker-compose up failed"
  fi
  for service in pubsub-emulator firestore-emulator firestore-consumer gateway; do
    wait_until "$project" "gateway: $service did not become healthy" \
      healthy "$project" "$service"
  done
  log "gateway: healthy $((SECONDS - t0)) s after up"

  curl -sS --max-time 30 -o "$tmp/json.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary \
    "{\"tenant_id\": \"$tenant\", \"log_id\": \"compose-1\", \"text\": \"call 555-0199 or mail ops@example.com\"}" \
    "http://127.0.0.1:$gateway_port/ingest" >"$tmp/json.status" ||
    fail "gateway: POST to http://127.0.0.1:$gateway_port/ingest failed"
  [[ $(<"$tmp/json.status") == 202 ]] ||
    fail "gateway: JSON POST answered $(<"$tmp/json.status"): $(cat "$tmp/json.json")"
  json_id=$(posted json "$tenant")
  dc "$project" --profile gateway run --rm --no-deps -T --entrypoint curl \
    firestore-consumer -sS --fail --max-time 30 -H 'Content-Type: text/plain' \
    -H "X-Tenant-ID: $tenant" --data-binary 'text from the network, +1 555 123 4567' \
    http://gateway:8080/ingest >"$tmp/text.json" 2>"$tmp/run.log" || {
    cat "$tmp/run.log" >&2
    fail "gateway: text/plain POST to http://gateway:8080/ingest failed"
  }
  text_id=$(posted text "$tenant")

  wait_until "$project" "gateway: no document $tenant/$json_id in Firestore" \
    stored "$gcp" "$tenant" "$json_id"
  wait_until "$project" "gateway: no document $tenant/$text_id in Firestore" \
    stored "$gcp" "$tenant" "$text_id"
  check_doc "$json_id" json_upload 'call 555-0199 or mail ops@example.com' \
    'call [REDACTED] or mail [REDACTED]'
  check_doc "$text_id" text_upload 'text from the network, +1 555 123 4567' \
    'text from the network, [REDACTED]'
  log "gateway: both documents in Firestore, redacted"

  down "$project" --profile gateway || fail "gateway: docker-compose down -v failed"
  unset 'projects[-1]'
  [[ -z $(docker ps -aq --filter "label=com.docker.compose.project=$project") ]] ||
    fail "gateway: containers left after docker-compose down"
  log "gateway: ok ($((SECONDS - t0)) s)"
}

main() {
  local t0=$SECONDS t key
  "$repo_root/scripts/setup.sh" --docker
  if ! "$docker_sh" status >/dev/null; then
    started_engine=true
    "$docker_sh" start
  fi

  kafka_port=$(free_port)
  metrics_port=$(free_port)
  emulator_port=$(free_port)
  pubsub_metrics_port=$(free_port)
  postgres_port=$(free_port)
  pg_metrics_port=$(free_port)
  gateway_port=$(free_port)
  firestore_port=$(free_port)
  firestore_metrics_port=$(free_port)
  cat >"$tmp/compose.env" <<EOF
KAFKA_HOST_PORT=$kafka_port
METRICS_HOST_PORT=$metrics_port
PUBSUB_EMULATOR_HOST_PORT=$emulator_port
PUBSUB_METRICS_HOST_PORT=$pubsub_metrics_port
POSTGRES_HOST_PORT=$postgres_port
PG_METRICS_HOST_PORT=$pg_metrics_port
GATEWAY_HOST_PORT=$gateway_port
FIRESTORE_EMULATOR_HOST_PORT=$firestore_port
FIRESTORE_METRICS_HOST_PORT=$firestore_metrics_port
EOF
  # After the env file, which `down` reads.
  remove_stale_projects

  t=$SECONDS
  (cd "$repo_root" && clean_env scripts/compose-images.sh --env-file "$tmp/compose.env") ||
    fail "scripts/compose-images.sh failed"
  log "images ready in $((SECONDS - t)) s"

  dc check config -q || fail "docker-compose.yml: docker-compose config failed"
  dc check --profile pubsub config -q ||
    fail "docker-compose.yml, profile pubsub: docker-compose config failed"
  dc check --profile postgres config -q ||
    fail "docker-compose.yml, profile postgres: docker-compose config failed"
  dc check --profile gateway config -q ||
    fail "docker-compose.yml, profile gateway: docker-compose config failed"
  key=$tmp/key.json
  echo '{"type": "service_account"}' >"$key"
  chmod 0644 "$key"
  printf 'GCP_PROJECT_ID=event-ingest-test\nGCP_CREDENTIALS_FILE=%s\n' "$key" \
    >>"$tmp/compose.env"
  dc check -f docker-compose.gcp.yml config -q ||
    fail "docker-compose.gcp.yml: docker-compose config failed"
  log "config: docker-compose.yml, its pubsub, postgres and gateway profiles and docker-compose.gcp.yml accepted"

  # Kafka: exactly the user's `docker-compose up --build`; Pub/Sub: the
  # profile's services only, to leave the broker out.
  scenario kafka kafka consumer producer "$metrics_port" --
  scenario pubsub pubsub-emulator pubsub-consumer pubsub-producer \
    "$pubsub_metrics_port" --profile pubsub -- \
    pubsub-emulator pubsub-consumer pubsub-producer
  # PostgreSQL: the profile's services and what pg-consumer needs, without
  # the first consumer (the images are the Kafka scenario's, from the cache).
  scenario postgres kafka pg-consumer producer "$pg_metrics_port" \
    --profile postgres -- kafka kafka-topic producer postgres pg-consumer
  gateway_scenario
  # docker-compose.gcp.yml's secret: mounted read-only where
  # CREDENTIALS_PATH says, readable by the binaries' user (no network use).
  projects+=("$project_prefix$$-gcp -f docker-compose.gcp.yml")
  # shellcheck disable=SC2016 # expanded by the container's shell
  dc "$project_prefix$$-gcp" -f docker-compose.gcp.yml run --rm --no-deps -T \
    --entrypoint /bin/sh consumer -c \
    'test "$CREDENTIALS_PATH" = /run/secrets/gcp-service-account &&
     test -r "$CREDENTIALS_PATH" && ! test -w "$CREDENTIALS_PATH" &&
     grep -q service_account "$CREDENTIALS_PATH"' >"$tmp/gcp.log" 2>&1 || {
    cat "$tmp/gcp.log" >&2
    fail "docker-compose.gcp.yml: the key is not readable, read-only, at CREDENTIALS_PATH"
  }
  down "$project_prefix$$-gcp" -f docker-compose.gcp.yml ||
    fail "docker-compose.gcp.yml: down failed"
  unset 'projects[-1]'
  log "gcp: the key is mounted read-only at CREDENTIALS_PATH"
  log "ok: docker-compose up, Kafka, Pub/Sub, PostgreSQL and the gateway, in $((SECONDS - t0)) s"
}

main "$@"

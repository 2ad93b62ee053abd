#!/usr/bin/env bash
# Prepares a machine that reaches no image registry for docker-compose.yml:
# makes the images Compose would pull, as local stand-ins under the names
# the compose file uses, so that a plain `docker-compose up --build` then
# works here as it does on a machine that pulls them.
#
#   scripts/compose-images.sh [DOCKER-COMPOSE-OPTION...]
#
# The names come from `docker-compose [OPTIONS] --profile pubsub --profile
# postgres --profile gateway config`, so .env, the environment and options
# such as --env-file FILE count as they do for `up`:
#   - DEBIAN_IMAGE (debian:bookworm-slim), the Dockerfile's base: the bare
#     Debian 12 of scripts/docker.sh base-image, trimmed as Debian's slim
#     image is (no documentation, manual pages, locales or apt lists) and
#     flattened;
#   - KAFKA_IMAGE (apache/kafka:4.1.0): scripts/stand-ins/kafka, with the
#     jars of scripts/kafka/pom.xml (Maven, ~/.m2: the jars kafka.sh runs);
#   - PUBSUB_EMULATOR_IMAGE and FIRESTORE_EMULATOR_IMAGE (both Google's
#     emulator image, which holds every emulator): scripts/stand-ins/emulators,
#     with the Pub/Sub and Firestore emulators of this machine's Google
#     Cloud SDK (as scripts/pubsub-emulator.sh and firestore-emulator.sh
#     find them), made once for each distinct name;
#   - POSTGRES_IMAGE (postgres:15): scripts/stand-ins/postgres, Debian's
#     PostgreSQL 15, which its build installs from the base's Debian mirror.
#
# Idempotent and cached: an image is made only when the engine lacks that
# name, or holds a stand-in made from other inputs (each stand-in carries a
# hash of what it was made from). An image of that name that is not a
# stand-in (pulled from a registry) is never replaced. `docker rmi NAME`
# makes the next run build it again.
#
# It starts dockerd (scripts/docker.sh start) if no engine answers, and
# leaves it running for docker-compose. Needs Java and Maven for the Kafka
# jars (installed with scripts/setup.sh --kafka when missing) and the Google
# Cloud SDK's Pub/Sub and Firestore emulators (Debian packages
# google-cloud-cli-pubsub-emulator and google-cloud-cli-firestore-emulator;
# CLOUDSDK_ROOT_DIR points at another SDK).
#
# Environment: COMPOSE_IMAGES_DIR, the state directory (lock, build
# contexts; default <repo>/.docker/compose-images); DOCKER_HOME_DIR,
# DEBIAN_MIRROR (see docker.sh).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
state_dir=${COMPOSE_IMAGES_DIR:-$repo_root/.docker/compose-images}
readonly label=io.event-ingest.stand-in
readonly inputs_label=io.event-ingest.stand-in.inputs

log() { printf 'compose-images.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib/daemon.sh
source "$script_dir/lib/daemon.sh"
# shellcheck source-path=SCRIPTDIR source=lib/emulator.sh
source "$script_dir/lib/emulator.sh"

# image_names COMPOSE-OPTION...: prints "kafka NAME", "pubsub-emulator NAME",
# "firestore-emulator NAME", "postgres NAME" and "base NAME", read from the
# compose file as `up` would see it.
image_names() {
  local out
  out=$(cd "$repo_root" && docker-compose "$@" --profile pubsub \
    --profile postgres --profile gateway config) ||
    die "docker-compose config failed (see above)"
  awk '
    /^services:/ { in_services = 1; next }
    /^[^ ]/ { in_services = 0 }
    !in_services { next }
    /^  [^ ]/ { service = $1; sub(/:$/, "", service) }
    /^    image: / && (service == "kafka" || service == "pubsub-emulator" ||
                     service == "firestore-emulator" ||
                     service == "postgres") {
      print service, $2
    }
    /^        DEBIAN_IMAGE: / { print "base", $2 }
  ' <<<"$out" | tr -d "'\"" | sort -u
}

# The label VALUE of image NAME, empty if it has none; fails if the engine
# has no such image.
image_label() {
  docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null
}

# pulled NAME: true when the engine has NAME and it is not a stand-in (it
# was pulled from a registry, or made by someone else): it is kept.
pulled() {
  image_label "$1" "$label" >/dev/null || return 1
  [[ -z $(image_label "$1" "$label") ]] || return 1
  log "$1: present, and not a stand-in; using it"
}

# needed NAME INPUTS: true when NAME must be made: missing, or a stand-in
# made from other INPUTS.
needed() {
  local name=$1 inputs=$2 have
  have=$(image_label "$name" "$inputs_label") || return 0
  if [[ $have == "$inputs" ]]; then
    log "$name: stand-in up to date"
    return 1
  fi
  log "$name: a stand-in made from other inputs; making it again"
}

# hash_of PATH...: one sha256 over the contents and names of the files
# under PATHs, in a stable order.
hash_of() {
  local h
  h=$(find "$@" -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum)
  echo "${h%% *}"
}

image_id() { docker image inspect -f '{{.Id}}' "$1"; }

# Debian's slim image, from the bare one: scripts/stand-ins/debian-slim.sh
# run in a container of it, which is then exported and imported (one layer,
# so that what it removed takes no space below).
make_base() {
  local name=$1 slim=$script_dir/stand-ins/debian-slim.sh bare inputs cid
  ! pulled "$name" || return 0
  bare=$("$script_dir/docker.sh" base-image)
  inputs="bare=$(image_id "$bare") files=$(hash_of "$slim")"
  needed "$name" "$inputs" || return 0
  log "making $name from $bare (slimmed)..."
  cid=$(docker create "$bare" /bin/sh -c "$(cat "$slim")")
  if ! docker start -a "$cid" >&2; then
    docker rm -f "$cid" >/dev/null
    die "slimming $bare failed"
  fi
  # Without the marker file every container has, which an export keeps.
  docker export "$cid" | tar --delete -f - .dockerenv |
    docker import --change 'CMD ["bash"]' \
      --change "LABEL $label=\"Debian 12 slim, made from $bare by scripts/compose-images.sh\" $inputs_label=\"$inputs\"" \
      - "$name" >/dev/null
  docker rm "$cid" >/dev/null
  log "made $name ($(docker image inspect -f '{{.Size}}' "$name" |
    awk '{ printf "%d MB", $1 / 1e6 }'))"
}

# build_stand_in NAME CONTEXT INPUTS DESCRIPTION: docker build of the
# prepared CONTEXT on the base, labelled as a stand-in of INPUTS.
build_stand_in() {
  local name=$1 context=$2 inputs=$3 description=$4
  if ! docker build -q --force-rm --build-arg DEBIAN_IMAGE="$base" \
      --label "$label=$description" --label "$inputs_label=$inputs" \
      -t "$name" "$context" >"$state_dir/build.log" 2>&1; then
    tail -n 40 "$state_dir/build.log" >&2
    die "building $name failed; see $state_dir/build.log"
  fi
}

make_kafka() {
  local name=$1 standin=$script_dir/stand-ins/kafka pom=$script_dir/kafka/pom.xml
  local inputs context out
  ! pulled "$name" || return 0
  inputs="base=$(image_id "$base") files=$(hash_of "$standin" "$pom")"
  needed "$name" "$inputs" || return 0
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    "$script_dir/setup.sh" --kafka
  fi
  log "making $name: a stand-in from $pom's jars..."
  context=$state_dir/kafka
  rm -rf "$context"
  cp -r "$standin" "$context"
  # As kafka.sh fetches them: Maven Central through ~/.m2, on the host.
  if ! out=$(mvn -B -q -f "$pom" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$context/libs" 2>&1); then
    printf '%s\n' "$out" >&2
    die "Maven could not fetch the jars of $pom"
  fi
  build_stand_in "$name" "$context" "$inputs" \
    "Apache Kafka stand-in: the jars of scripts/kafka/pom.xml on Debian's JRE"
  rm -rf "$context"
  log "made $name"
}

# emulator_dir COMPONENT FILE PACKAGE: the SDK's directory of that emulator
# (lib/emulator.sh), or a way to get one.
emulator_dir() {
  local dir
  dir=$(emulator_sdk_dir "$1" "$2") ||
    die "the $1 is not installed (looked in: $dir); install the Debian package $3 from Google's apt repository (https://cloud.google.com/sdk/docs/install#deb), or point CLOUDSDK_ROOT_DIR at a Google Cloud SDK that has it"
  echo "$dir"
}

make_emulators() {
  local name=$1 standin=$script_dir/stand-ins/emulators pubsub firestore
  local inputs context
  ! pulled "$name" || return 0
  pubsub=$(emulator_dir pubsub-emulator bin/cloud-pubsub-emulator \
    google-cloud-cli-pubsub-emulator)
  firestore=$(emulator_dir cloud-firestore-emulator \
    cloud-firestore-emulator.jar google-cloud-cli-firestore-emulator)
  inputs="base=$(image_id "$base") files=$(hash_of "$standin") pubsub=$(hash_of "$pubsub") firestore=$(hash_of "$firestore")"
  needed "$name" "$inputs" || return 0
  log "making $name: a stand-in from $pubsub and $firestore..."
  context=$state_dir/emulators
  rm -rf "$context"
  cp -r "$standin" "$context"
  cp -r "$pubsub" "$context/pubsub-emulator"
  cp -r "$firestore" "$context/cloud-firestore-emulator"
  build_stand_in "$name" "$context" "$inputs" \
    "Google Cloud emulators stand-in: this machine's SDK Pub/Sub and Firestore emulators on Debian's JRE"
  rm -rf "$context"
  log "made $name"
}

# Nothing from this machine but the build context: the packages come from
# the base image's own Debian mirror, so the inputs are the base and the
# stand-in's files.
make_postgres() {
  local name=$1 standin=$script_dir/stand-ins/postgres inputs
  ! pulled "$name" || return 0
  inputs="base=$(image_id "$base") files=$(hash_of "$standin")"
  needed "$name" "$inputs" || return 0
  log "making $name: a stand-in from Debian's postgresql-15..."
  build_stand_in "$name" "$standin" "$inputs" \
    "PostgreSQL stand-in: Debian 12's postgresql-15 behind the official image's entrypoint"
  log "made $name"
}

main() {
  local names kafka emulator firestore postgres t0=$SECONDS
  command -v docker-compose >/dev/null || "$script_dir/setup.sh" --docker
  "$script_dir/docker.sh" start
  # One run at a time: two must not build the same stand-in at once. Not
  # docker.sh's lock, which the docker.sh calls above and below take.
  lock_state_dir "$state_dir"
  state_dir=$(cd "$state_dir" && pwd)
  names=$(image_names "$@")
  base=$(awk '$1 == "base" { print $2 }' <<<"$names")
  kafka=$(awk '$1 == "kafka" { print $2 }' <<<"$names")
  emulator=$(awk '$1 == "pubsub-emulator" { print $2 }' <<<"$names")
  firestore=$(awk '$1 == "firestore-emulator" { print $2 }' <<<"$names")
  postgres=$(awk '$1 == "postgres" { print $2 }' <<<"$names")
  [[ -n $base && -n $kafka && -n $emulator && -n $firestore && -n $postgres ]] ||
    die "could not read the image names from the compose file: '$names'"
  make_base "$base"
  make_kafka "$kafka"
  make_emulators "$emulator"
  # The same image by default (Google's holds every emulator): made once.
  if [[ $firestore == "$emulator" ]]; then
    firestore=
  else
    make_emulators "$firestore"
  fi
  make_postgres "$postgres"
  log "ready in $((SECONDS - t0)) s: $base, $kafka, $emulator, ${firestore:+$firestore, }$postgres"
}

main "$@"

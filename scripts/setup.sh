#!/usr/bin/env bash
# Install what event-ingest needs from Debian's packages, only what is
# missing, so demo.sh and test.sh work on a fresh Debian 12 machine.
#
#   scripts/setup.sh          build dependencies (compiler, CMake, librdkafka, jansson, cmocka, libcurl,
#                             libmicrohttpd, libpq, PCRE2)
#   scripts/setup.sh --kafka  also Java and Maven, to run the real broker (scripts/kafka.sh)
#   scripts/setup.sh --postgres
#                             also PostgreSQL 15 (server and psql) and kcat, for
#                             scripts/postgres.sh and demo.sh --postgres
#   scripts/setup.sh --test   also Java, Maven, kcat, python3 (with venv), openssl, valgrind,
#                             PostgreSQL 15 (server and psql) and the --fuzz packages, for
#                             scripts/test.sh
#   scripts/setup.sh --fuzz   build dependencies and clang with libFuzzer, for scripts/fuzz.sh
#   scripts/setup.sh --docker only docker.io, docker-compose and debootstrap, for
#                             scripts/docker.sh and the compose test
#
# Packages are installed without their recommendations, so every package a
# command needs is named here; scripts/fresh-check.sh proves the lists
# complete on a bare Debian 12.
set -euo pipefail

log() { printf 'setup.sh: %s\n' "$*" >&2; }

# gcc only recommends libc6-dev, the C library's headers and startup files
# (crt1.o): without it nothing links on a bare Debian 12. The Pub/Sub
# transport speaks HTTPS through libcurl and signs service-account JWTs with
# OpenSSL's libcrypto. libmicrohttpd serves --metrics-addr. libpq talks to
# PostgreSQL for the postgres sink and event-verify. PCRE2 (its JIT) finds
# what --redact replaces.
build_pkgs=(gcc libc6-dev make cmake pkg-config librdkafka-dev libjansson-dev
  libcmocka-dev libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libpq-dev
  libpcre2-dev)
kafka_pkgs=(default-jre-headless maven)
# python3-venv: test.sh installs Google's Pub/Sub client into a virtualenv
# for the interop test; openssl: the auth test makes RSA keys with the
# command; valgrind: the memcheck test (tests/integration/memcheck.sh);
# prometheus: its promtool checks the /metrics exposition. (The Pub/Sub
# and Firestore emulators are not in Debian: they come from Google's apt
# repository as google-cloud-cli-pubsub-emulator and
# google-cloud-cli-firestore-emulator; see scripts/pubsub-emulator.sh and
# scripts/firestore-emulator.sh.)
test_pkgs=(kcat python3 python3-venv openssl valgrind prometheus)
# postgresql-15: the server scripts/postgres.sh runs for the postgres sink's
# tests and demo.sh --postgres (initdb, postgres under
# /usr/lib/postgresql/15/bin); postgresql-client-15: psql and pg_isready
# there, which postgres.sh, the tests and the demo use (postgresql-15 depends
# on it; named for what we call); kcat: the demo's tombstone (a keyed
# message with no value, which event-producer does not send).
postgres_pkgs=(postgresql-15 postgresql-client-15 kcat)
# Debian's clang (14 on bookworm) has its sanitizer and libFuzzer runtimes in
# libclang-rt-14-dev, which it only recommends: without it
# -fsanitize=fuzzer cannot link.
fuzz_pkgs=(clang libclang-rt-14-dev)
# docker-compose: Debian's Compose 1.29 (`docker-compose`), which runs
# docker-compose.yml for the compose test (tests/compose/).
docker_pkgs=(docker.io docker-compose debootstrap)

case "${1:-}" in
  "") wanted=("${build_pkgs[@]}") ;;
  --kafka) wanted=("${build_pkgs[@]}" "${kafka_pkgs[@]}") ;;
  --postgres) wanted=("${build_pkgs[@]}" "${postgres_pkgs[@]}") ;;
  --test) wanted=("${build_pkgs[@]}" "${kafka_pkgs[@]}" "${test_pkgs[@]}"
    "${postgres_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  --fuzz) wanted=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  --docker) wanted=("${docker_pkgs[@]}") ;;
  *) log "usage: $0 [--kafka|--postgres|--test|--fuzz|--docker]"; exit 64 ;;
esac

# A machine may have Java, Maven or Docker from elsewhere (an SDK, a
# tarball, Docker's own packages, which conflict with docker.io): a working
# command is as good as the package.
has_command_for() {
  case "$1" in
    default-jre-headless) command -v java >/dev/null ;;
    maven) command -v mvn >/dev/null ;;
    python3) command -v python3 >/dev/null ;;
    # Debian's python3 creates virtualenvs only with python3-venv, which
    # brings ensurepip; another python3 (pyenv, a source build) has it.
    python3-venv) python3 -c 'import ensurepip, venv' 2>/dev/null ;;
    openssl) command -v openssl >/dev/null ;;
    docker.io) command -v dockerd >/dev/null && command -v docker >/dev/null ;;
    docker-compose) command -v docker-compose >/dev/null ;;
    *) return 1 ;;
  esac
}

missing=()
for pkg in "${wanted[@]}"; do
  has_command_for "$pkg" && continue
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

log "installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { log "error: need root (or sudo) to install ${missing[*]}"; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >&2
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2

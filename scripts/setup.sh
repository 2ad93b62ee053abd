#!/usr/bin/env bash
# Install what event-ingest needs from Debian's packages, only what is
# missing, so demo.sh and test.sh work on a fresh Debian 12 machine.
#
#   scripts/setup.sh          build dependencies (compiler, CMake, librdkafka >= 2.1, jansson, cmocka,
#                             libcurl, libmicrohttpd, libpq, PCRE2)
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
#
# librdkafka must be 2.1 or newer: before 2.1 a consumer whose local queue
# fills pauses its fetcher for a fixed second (fetch.queue.backoff.ms came
# in 2.1), which caps a validating consumer at a fraction of its speed. The
# system's librdkafka-dev is used when it is new enough (Debian 13, Ubuntu
# 24.04); otherwise (Debian 12 has 2.0.2) librdkafka 2.8.0 is built once
# from Debian 13's source package into $EV_DEPS_DIR/librdkafka (default
# .deps/ in the checkout), where CMake finds it (pkg-config, with an rpath).
# apt fetches the source through a temporary source list naming this
# machine's own Debian mirror; the machine's apt configuration is not
# changed.
set -euo pipefail

log() { printf 'setup.sh: %s\n' "$*" >&2; }

# gcc only recommends libc6-dev, the C library's headers and startup files
# (crt1.o): without it nothing links on a bare Debian 12. The Pub/Sub
# transport speaks HTTPS through libcurl and signs service-account JWTs with
# OpenSSL's libcrypto. libmicrohttpd serves --metrics-addr. libpq talks to
# PostgreSQL for the postgres sink and event-verify. PCRE2 (its JIT) finds
# what --redact replaces.
build_pkgs=(gcc libc6-dev make cmake pkg-config libjansson-dev
  libcmocka-dev libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libpq-dev
  libpcre2-dev)
# What Debian 13's librdkafka is built with, besides OpenSSL and libcurl
# (above): zlib, zstd and LZ4 compression, and Cyrus SASL for GSSAPI.
rdkafka_build_pkgs=(zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev)
rdkafka_version=2.8.0
rdkafka_minimum=2.1.0
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rdkafka_prefix=${EV_DEPS_DIR:-$repo_root/.deps}/librdkafka
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

want_rdkafka=true
case "${1:-}" in
  "") wanted=("${build_pkgs[@]}") ;;
  --kafka) wanted=("${build_pkgs[@]}" "${kafka_pkgs[@]}") ;;
  --postgres) wanted=("${build_pkgs[@]}" "${postgres_pkgs[@]}") ;;
  --test) wanted=("${build_pkgs[@]}" "${kafka_pkgs[@]}" "${test_pkgs[@]}"
    "${postgres_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  --fuzz) wanted=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  --docker) wanted=("${docker_pkgs[@]}"); want_rdkafka=false ;;
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

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi

# Installs the Debian packages named, those missing.
install_missing() {
  local pkg status missing=()
  for pkg in "$@"; do
    has_command_for "$pkg" && continue
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]}"
  if [[ ${#sudo[@]} -gt 0 ]] && ! command -v sudo >/dev/null; then
    log "error: need root (or sudo) to install ${missing[*]}"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# The URI of this machine's Debian mirror: the one its apt sources name for
# the release it runs (deb822 .sources files, then one-line lists).
debian_mirror() {
  local codename f uri=""
  codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f && -z $uri ]] || continue
    uri=$(awk -v want="$codename" '
      /^[[:space:]]*$/ { if (deb && suite && uri != "") { print uri; exit } deb = suite = 0; uri = "" }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == want) suite = 1 }
      END { if (deb && suite && uri != "") print uri }' "$f" | head -n 1)
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f && -z $uri ]] || continue
    uri=$(awk -v want="$codename" '$1 == "deb" {
      i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++
      if ($i ~ /^\[/ || $i ~ /\]$/) i++
      if ($(i + 1) == want) { print $i; exit } }' "$f")
  done
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# librdkafka $rdkafka_version from Debian 13's source package, built into
# $rdkafka_prefix: the C library only (src/), not librdkafka++, so no C++
# compiler; configure insists on finding one all the same, and is given
# gcc to find. (Debian's one patch fixes a Makefile target this build does
# not make.)
build_rdkafka() {
  local mirror keyring="" apt_opts
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mirror=$(debian_mirror)
  [[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] &&
    keyring="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
  printf 'deb-src %s%s trixie main\n' "$keyring" "$mirror" >"$work/sources.list"
  apt_opts=(-q -o "Dir::Etc::SourceList=$work/sources.list"
    -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1)
  [[ $(id -u) -eq 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)
  log "building librdkafka $rdkafka_version from Debian 13's source package ($mirror) into $rdkafka_prefix"
  (cd "$work" && apt-get "${apt_opts[@]}" update >&2 &&
    apt-get "${apt_opts[@]}" --download-only source "librdkafka=$rdkafka_version-1" >&2)
  tar -xzf "$work/librdkafka_$rdkafka_version.orig.tar.gz" -C "$work/src" --strip-components=1
  rm -rf "$rdkafka_prefix"
  if ! (cd "$work/src" && ./configure --prefix="$rdkafka_prefix" --cxx=gcc) >"$work/configure.log" 2>&1; then
    cat "$work/configure.log" >&2
    exit 1
  fi
  make -C "$work/src/src" -j"$(nproc)" >"$work/make.log" 2>&1 ||
    { tail -n 40 "$work/make.log" >&2; exit 1; }
  make -C "$work/src/src" install >>"$work/make.log" 2>&1 ||
    { tail -n 40 "$work/make.log" >&2; exit 1; }
  rm -f "$rdkafka_prefix"/lib/*.a "$rdkafka_prefix/lib/pkgconfig/rdkafka-static.pc"
}

# librdkafka >= $rdkafka_minimum: the system's, Debian's package when its
# candidate is new enough, or the build in $rdkafka_prefix.
ensure_rdkafka() {
  local candidate
  pkg-config --atleast-version="$rdkafka_minimum" rdkafka 2>/dev/null && return 0
  PKG_CONFIG_PATH="$rdkafka_prefix/lib/pkgconfig" \
    pkg-config --exact-version="$rdkafka_version" rdkafka 2>/dev/null && return 0
  candidate=$(apt-cache policy librdkafka-dev 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
  if [[ -n $candidate && $candidate != "(none)" ]] &&
    dpkg --compare-versions "$candidate" ge "$rdkafka_minimum"; then
    install_missing librdkafka-dev
    return 0
  fi
  install_missing "${rdkafka_build_pkgs[@]}"
  build_rdkafka
}

install_missing "${wanted[@]}"
if $want_rdkafka; then
  ensure_rdkafka
fi

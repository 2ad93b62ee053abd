#!/usr/bin/env bash
# The inner half of scripts/fresh-check.sh, run in a bare Debian 12 container
# on a `git archive` of the repo: the README's commands, in the order a
# newcomer runs them, each checked. Nothing but bash and coreutils may be
# assumed before setup.sh has run; python3 only after setup.sh --test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=$(mktemp -d)
t0=$SECONDS

log() { printf 'in-container: %s\n' "$*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

# step NAME CMD...: runs CMD with its output in a log, shown only on failure.
step() {
  local name=$1 t=$SECONDS
  shift
  log "$name..."
  if ! "$@" >"$out/step.log" 2>&1; then
    tail -n 40 "$out/step.log" >&2
    fail "$name"
  fi
  log "$name: ok ($((SECONDS - t)) s)"
}

demo() {
  ./scripts/demo.sh >"$out/demo.out" 2>"$out/demo.err" || {
    tail -n 40 "$out/demo.err"
    return 1
  }
}

# The seed scenario, with what a bare machine has: 10 lines on stdout, 3
# toxic reports and a summary that counts all 13 on stderr.
demo_output() {
  local n
  n=$(wc -l <"$out/demo.out")
  [[ $n == 10 ]] || { echo "demo stdout has $n lines, not 10"; return 1; }
  n=$(grep -c '^ERROR: Malformed JSON received: ' "$out/demo.err" || true)
  [[ $n == 3 ]] || { echo "demo stderr has $n error lines, not 3"; return 1; }
  grep -q 'Summary: consumed=13 valid=10 toxic=3 ' "$out/demo.err" || {
    echo "the consumer's summary does not count 13 consumed, 10 valid, 3 toxic"
    return 1
  }
}

unit_tests() {
  ctest --test-dir "$1" -L unit --output-on-failure
}

# shellcheck source=/dev/null
log "on $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores"
for cmd in gcc cc cmake java mvn kcat python3; do
  ! command -v "$cmd" >/dev/null || fail "$cmd is preinstalled: the image is not bare"
done

step "./scripts/demo.sh" demo
step "demo output: 10 events on stdout, 3 error lines on stderr" demo_output
step "scripts/setup.sh --test" scripts/setup.sh --test
step "demo stdout: 10 JSON events (check.py)" \
  python3 tests/integration/check.py events "$out/demo.out" 10
step "build (warnings as errors)" scripts/build.sh build
step "build (ASan+UBSan)" \
  scripts/build.sh build-asan -DEV_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
step "ctest -L unit (build)" unit_tests build
step "ctest -L unit (build-asan)" unit_tests build-asan
log "all steps passed in $((SECONDS - t0)) s"

#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into
# build-fuzz/ and runs each for SECONDS (default 30), one after the other.
#
#   scripts/fuzz.sh [SECONDS]
#
# Each target starts from a fresh temporary copy of its seeds (tests/corpus,
# the payloads tests/corpus/generate.sh makes, tests/fuzz/seeds/), so new
# inputs never land in the repository. Exits non-zero on any crash,
# sanitizer report, broken property, leak, timeout or out-of-memory,
# printing the input that caused it (kept, with the whole log, under a
# temporary directory it names) and the report.
#
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_TARGETS
# (default: all five), FUZZ_RSS_LIMIT_MB (default 2048), FUZZ_TIMEOUT
# (seconds one input may take, default 30).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'fuzz.sh: %s\n' "$*" >&2; }

seconds=${1:-30}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || {
  log "usage: $0 [SECONDS] (a whole number of seconds per target)"
  exit 64
}
build_dir=${FUZZ_BUILD_DIR:-$repo_root/build-fuzz}
read -r -a targets <<<"${FUZZ_TARGETS:-event escape config input pubsub_pull}"
rss_limit=${FUZZ_RSS_LIMIT_MB:-2048}
timeout=${FUZZ_TIMEOUT:-30}

"$repo_root/scripts/setup.sh" --fuzz
log "building $build_dir (clang, libFuzzer, ASan+UBSan)"
cmake -S "$repo_root" -B "$build_dir" -DCMAKE_C_COMPILER=clang -DEV_FUZZ=ON \
  -DEV_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"$(nproc)" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/ev-fuzz.XXXXXX")
keep=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n $keep ]]; then
    log "kept $work (the failing inputs and logs)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

"$repo_root/tests/corpus/generate.sh" "$work/generated"
corpus=("$repo_root"/tests/corpus/*.bin)
seeds_of() {
  case "$1" in
    event) printf '%s\n' "${corpus[@]}" "$work"/generated/*.bin ;;
    escape | input) printf '%s\n' "${corpus[@]}" ;;
    config) printf '%s\n' "$repo_root"/tests/fuzz/seeds/config/* ;;
    pubsub_pull)
      printf '%s\n' "$repo_root"/tests/fuzz/seeds/pubsub_pull/* "${corpus[@]}"
      ;;
    *) return 1 ;;
  esac
}

# A UBSan report aborts (the code is built with -fno-sanitize-recover) with
# its stack, so that libFuzzer keeps the input.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1

status=0
for target in "${targets[@]}"; do
  bin=$build_dir/bin/fuzz_$target
  [[ -x $bin ]] || {
    log "error: no fuzz target $bin"
    exit 1
  }
  mkdir -p "$work/corpus/$target" "$work/artifacts"
  seeds_of "$target" | xargs -d '\n' cp -t "$work/corpus/$target"
  log "fuzz_$target: $seconds s from $(find "$work/corpus/$target" -type f | wc -l) seeds"
  rc=0
  # The working directory is the temporary one: libFuzzer writes nothing
  # anywhere else.
  (cd "$work" && "$bin" -max_total_time="$seconds" -rss_limit_mb="$rss_limit" \
    -timeout="$timeout" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$target-" "$work/corpus/$target") \
    >"$work/$target.log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$target.log")
  if [[ $rc -eq 0 ]]; then
    log "fuzz_$target: ok, ${runs:-?} runs (${speed:-?}/s)"
    continue
  fi
  status=1
  keep=1
  log "FAIL: fuzz_$target exited $rc after ${runs:-?} runs; log $work/$target.log"
  for input in "$work/artifacts/$target-"*; do
    [[ -e $input ]] || continue
    log "input: $input ($(wc -c <"$input") bytes); reproduce with: $bin $input"
  done
  # The report: from the sanitizer's or libFuzzer's first line on.
  awk '/^==[0-9]+==|^property failed|^[^ ]*runtime error:|^ALARM|^INFO: libFuzzer: .*OOM/ { on = 1 }
       on && n++ < 80' "$work/$target.log" >&2
done
exit "$status"

#!/usr/bin/env bash
# The consumer under valgrind's memcheck, once over the hostile corpus
# (corpus.sh with one round, and every check it makes): no memory error and
# no definitely lost byte. "Possibly lost" and "still reachable" blocks
# (library caches alive at exit) are not errors. librdkafka, jansson and
# glibc give no report here (Debian 12, valgrind 3.19), so there is no
# suppressions file; should one be needed, each entry must say why the
# report is not ours. Run with the plain build's binaries: scripts/test.sh
# runs it (ctest label memory) once, not in its ASan build, which valgrind
# cannot run.
command -v valgrind >/dev/null || {
  echo "FAIL [memcheck]: valgrind is not installed (scripts/setup.sh --test)" >&2
  exit 1
}

# corpus.sh sends the consumer's stderr to a file; the report goes here.
exec 3>&2
# Runs when corpus.sh starts the consumer, with lib.sh's IT_DIR and IT_TMP.
memcheck_run() {
  local rc=0
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --error-exitcode=99 --track-origins=yes \
    --num-callers=30 --log-file="$IT_TMP/valgrind.log" "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    printf -- '--- valgrind: exit %s, its report ---\n' "$rc" >&3
    grep -v '^==[0-9]*== *$' "$IT_TMP/valgrind.log" | head -n 200 >&3
  fi
  return "$rc"
}

# shellcheck disable=SC2034 # read by corpus.sh
CORPUS_ROUNDS=1
# shellcheck disable=SC2034 # read by corpus.sh
CORPUS_RUNNER=(memcheck_run)
# It sources lib.sh, which reads this script's arguments and names the
# test after it.
# shellcheck source=corpus.sh
source "$(dirname "$0")/corpus.sh"

grep -q 'ERROR SUMMARY: 0 errors' "$IT_TMP/valgrind.log" ||
  fail "valgrind: $(grep -o 'ERROR SUMMARY: .*' "$IT_TMP/valgrind.log")"
if grep -qE 'definitely lost: [1-9]' "$IT_TMP/valgrind.log"; then
  fail "valgrind: $(grep -o 'definitely lost: .*' "$IT_TMP/valgrind.log")"
fi
log "valgrind: $(grep -o 'ERROR SUMMARY: .*' "$IT_TMP/valgrind.log")"

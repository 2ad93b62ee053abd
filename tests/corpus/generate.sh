#!/usr/bin/env bash
# Writes the corpus payloads too big to commit into DIR, named like the
# committed ones (NNN-<reason>-<slug>.bin, numbered from 900):
#
#   tests/corpus/generate.sh DIR
#
# Deterministic (same bytes on every run) and needs only bash and coreutils,
# so the build can run it on a bare machine. The unit test, the integration
# tests and scripts/fuzz.sh read DIR beside tests/corpus.
set -euo pipefail
export LC_ALL=C

[[ $# -eq 1 ]] || {
  echo "usage: $0 DIR" >&2
  exit 64
}
dir=$1
mkdir -p "$dir"

readonly MIB=1048576
readonly HEAD='{"timestamp":"2026-11-22T10:15:30Z","service_name":"api","level":"INFO","message":"'
readonly TAIL='"}'

# repeat STRING N: STRING N times, without a newline.
repeat() {
  local s=$1 n=$2 out=''
  # Doubling keeps 100,000 copies to 17 concatenations.
  while ((n > 0)); do
    ((n & 1)) && out+=$s
    s+=$s
    n=$((n >> 1))
  done
  printf '%s' "$out"
}

# event BYTES: a valid event of exactly BYTES bytes, its message padding.
event() {
  printf '%s' "$HEAD"
  repeat a $(($1 - ${#HEAD} - ${#TAIL}))
  printf '%s' "$TAIL"
}

write() {
  cat >"$dir/$1.bin"
}

# The limit is inclusive: MAX_PAYLOAD_BYTES (default 1 MiB) is still read.
event "$MIB" | write 900-valid-event-exactly-1mib
event $((MIB + 1)) | write 901-too_large-event-1mib-plus-one
# Too large is decided before parsing: garbage is not even looked at.
repeat $'\xff' $((MIB + 1)) | write 902-too_large-garbage-1mib-plus-one
# At the limit, parsed, and cut short: the closing quote and brace are gone.
{
  printf '%s' "$HEAD"
  repeat a $((MIB - ${#HEAD}))
} | write 903-not_json-truncated-event-exactly-1mib
# jansson stops at depth 2048: no recursion 100,000 deep.
{
  repeat '[' 100000
  repeat ']' 100000
} | write 904-not_json-nesting-100000-arrays
{
  printf '%s' "${HEAD}deep\",\"x\":"
  repeat '{"a":' 100000
  printf '1'
  repeat '}' 100000
  printf '}'
} | write 905-not_json-nesting-100000-objects-in-event
# 100,000 digits: an integer overflows a double (real number overflow), a
# fraction only loses precision.
{
  printf '%s' "${HEAD}hi\",\"n\":"
  repeat 7 100000
  printf '}'
} | write 906-not_json-digits-100000-integer
{
  printf '%s' "${HEAD}hi\",\"n\":0."
  repeat 7 100000
  printf '}'
} | write 907-valid-digits-100000-fraction
{
  printf '%s' "${HEAD}hi\",\"n\":1e"
  repeat 7 100000
  printf '}'
} | write 908-not_json-digits-100000-exponent
{
  printf '%s' "${HEAD}hi\",\"n\":1e-"
  repeat 7 100000
  printf '}'
} | write 909-valid-digits-100000-negative-exponent

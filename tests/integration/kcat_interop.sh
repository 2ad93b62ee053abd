#!/usr/bin/env bash
# Interoperability with another Kafka client, kcat, in both directions:
#  a) what kcat -P publishes, event-consumer reads: valid events byte for
#     byte on stdout, the malformed line reported on stderr;
#  b) what event-producer --input publishes (from a file, and from stdin),
#     kcat -C reads back byte for byte.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

# --- a) kcat -P -> event-consumer ------------------------------------------
topic=$(unique_name from-kcat)
group=$(unique_name group)
# Valid events (UTF-8 text; JSON escapes for quotes, backslashes, a newline
# and a non-ASCII code point, which must reach stdout still escaped), and one
# malformed line between them.
cat >"$IT_TMP/a-valid.txt" <<'EOF'
{"timestamp":"2026-11-22T10:15:30Z","service_name":"auth-service","level":"INFO","message":"User login succeeded"}
{"timestamp":"2026-11-22T10:15:31.250+01:00","service_name":"cafétéria-service","level":"WARN","message":"Grüße aus Köln — 日本語 ✓ 🎉"}
{"timestamp":"2026-11-22T10:15:32Z","service_name":"api-gateway","level":"ERROR","message":"path \"C:\\temp\\new\" said \"hi\\\" \\\\ \n\t \u00e9 \ud83c\udf89","extra":{"nested":[1,2.5,null,true]}}
EOF
malformed='not json at all: {"unterminated": "str'
{
  sed -n 1,2p "$IT_TMP/a-valid.txt"
  printf '%s\n' "$malformed"
  sed -n 3p "$IT_TMP/a-valid.txt"
} >"$IT_TMP/a-input.txt"
kcat -b "$BROKERS" -P -t "$topic" <"$IT_TMP/a-input.txt" ||
  fail "kcat -P could not produce to $topic"
# A pretty-printed event: raw line breaks (LF, CR) are legal JSON whitespace,
# but an NDJSON line cannot hold them; the consumer must print it on one line.
printf '{\n  "timestamp": "2026-11-22T10:15:33Z",\n  "service_name": "search-service",\r\n  "level": "DEBUG",\n  "message": "multi\\nline"\n}\x1e' |
  kcat -b "$BROKERS" -P -t "$topic" -D '\x1e' ||
  fail "kcat -P -D could not produce to $topic"

rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --max-messages 5 \
  --idle-exit 20 >"$IT_TMP/a.out" 2>"$IT_TMP/a.err" || rc=$?
expect_eq "consumer exit status" "$rc" 0
n=$(count_lines "$IT_TMP/a.out")
expect_eq "consumer stdout lines" "$n" 4
head -n 3 "$IT_TMP/a.out" >"$IT_TMP/a-out-first3.txt"
cmp -s "$IT_TMP/a-valid.txt" "$IT_TMP/a-out-first3.txt" ||
  fail "the events kcat produced are not on stdout byte for byte" \
    "($(cmp "$IT_TMP/a-valid.txt" "$IT_TMP/a-out-first3.txt" 2>&1 || true))"
# One line (count_lines above: a raw break would have made more), equal as
# JSON to what was sent; the exact spacing is the consumer's choice.
sed -n 4p "$IT_TMP/a.out" >"$IT_TMP/a-out-pretty.txt"
printf '%s\n' '{"timestamp":"2026-11-22T10:15:33Z","service_name":"search-service","level":"DEBUG","message":"multi\nline"}' \
  >"$IT_TMP/a-pretty.txt"
check same-json "$IT_TMP/a-pretty.txt" "$IT_TMP/a-out-pretty.txt"
if grep -q $'\r' "$IT_TMP/a.out"; then
  fail "a raw CR from the pretty-printed event reached stdout"
fi
n=$(count_prefix "$IT_TMP/a.err" 'ERROR: Malformed JSON received:')
expect_eq "malformed reports" "$n" 1
grep -qF "ERROR: Malformed JSON received: $malformed (reason=not_json" \
  "$IT_TMP/a.err" || fail "the malformed line is not reported with its text"
expect_summary "$IT_TMP/a.err" consumed=5 valid=4 toxic=1 not_json=1

# --- b) event-producer --input -> kcat -C ----------------------------------
# Lines of every kind, none holding a newline: events, malformed text, UTF-8,
# tabs, backslashes, a CR, a NUL, invalid UTF-8, an empty line (an empty
# message, not a tombstone), and a last line with no newline at all.
python3 - "$IT_TMP/b-input.txt" <<'EOF'
import sys
lines = [
    b'{"timestamp":"2026-11-22T10:15:30Z","service_name":"auth-service","level":"INFO","message":"ok"}',
    b'invalid non-JSON string',
    b'{"truncated": "json',
    'UTF-8: Grüße, 日本語, emoji 🎉, RTL שלום'.encode(),
    b'tabs\there\tand\tthere',
    b'back\\slashes \\n \\\\ \\"quoted\\" C:\\temp',
    b'{"timestamp":"2026-11-22T10:15:30Z","service_name":"x","level":"INFO","message":"tab\\t and \\u00e9"}',
    b'carriage\rreturn',
    b'nul\x00byte',
    b'invalid utf-8 \xff\xfe \xc3(',
    b'',
    b'  leading and trailing spaces  ',
    b'last line without newline',
]
with open(sys.argv[1], "wb") as f:
    f.write(b"\n".join(lines))  # no newline after the last line
EOF
lines_in=13
# kcat prints each message followed by a newline.
{ cat "$IT_TMP/b-input.txt"; echo; } >"$IT_TMP/b-expected.txt"

for source in file stdin; do
  topic=$(unique_name "from-$source")
  rc=0
  if [[ $source == file ]]; then
    "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/b-input.txt" \
      >"$IT_TMP/b-$source.producer.out" 2>"$IT_TMP/b-$source.producer.err" ||
      rc=$?
  else
    "$PRODUCER" -b "$BROKERS" -t "$topic" --input - <"$IT_TMP/b-input.txt" \
      >"$IT_TMP/b-$source.producer.out" 2>"$IT_TMP/b-$source.producer.err" ||
      rc=$?
  fi
  expect_eq "producer --input ($source) exit status" "$rc" 0
  n=$(grep -c '^Published message partition=' "$IT_TMP/b-$source.producer.out" || true)
  expect_eq "messages published from $source" "$n" "$lines_in"
  kcat_read "$topic" >"$IT_TMP/b-$source.kcat.txt"
  cmp -s "$IT_TMP/b-expected.txt" "$IT_TMP/b-$source.kcat.txt" ||
    fail "kcat does not read back the --input lines ($source) byte for byte" \
      "($(cmp "$IT_TMP/b-expected.txt" "$IT_TMP/b-$source.kcat.txt" 2>&1 || true))"
  # Empty line: an empty value (size 0), not a NULL one.
  sizes=$(kcat -b "$BROKERS" -C -e -q -o beginning -t "$topic" -f '%S ')
  [[ " $sizes" == *" 0 "* && " $sizes" != *" -1 "* ]] ||
    fail "the empty line was not published as an empty value (sizes: $sizes)"
done
log "ok: kcat -> consumer and producer --input (file, stdin) -> kcat agree"

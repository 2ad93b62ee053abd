# shellcheck shell=bash
# Helpers shared by the integration tests; sourced, never run.
#
# Every test is run by ctest as
#   bash tests/integration/NAME.sh PRODUCER CONSUMER
# with PRODUCER and CONSUMER the paths of the built binaries, against a real
# Kafka broker that scripts/test.sh (or a developer) started with
# scripts/kafka.sh. The contract with whoever starts that broker:
#
#   KAFKA_BOOTSTRAP_SERVERS  the broker the tests talk to (default
#                            127.0.0.1:9092, what `scripts/kafka.sh start`
#                            gives with no environment; scripts/test.sh sets
#                            all three to its own broker)
#   KAFKA_HOME_DIR, KAFKA_PORT
#                            passed through to scripts/kafka.sh for
#                            `kafka.sh topic` (multi-partition topics, topic
#                            configs) and `kafka.sh topic-config`; unset,
#                            kafka.sh looks at its default broker. They must
#                            name the broker KAFKA_BOOTSTRAP_SERVERS points at,
#                            which create_topic checks.
#   KAFKA_SH                 kafka.sh to use (default: the one in this repo)
#   PUBSUB_EMULATOR_HOST     the Pub/Sub emulator the pubsub_* tests talk to
#                            (scripts/pubsub-emulator.sh start prints it;
#                            scripts/test.sh starts its own); no default
#   IT_PUBSUB_PYTHON         a python with google-cloud-pubsub (the
#                            requirements.txt in pubsub/), for
#                            pubsub_interop.sh; scripts/test.sh makes it
#   IT_KEEP                  set: keep each test's temporary directory
#
# A broker or emulator that does not answer is a failure, never a skip
# (DESIGN.md, 3). Each run uses topics, groups, projects and subscriptions of
# its own, so runs never see each other's messages or offsets, and tests can
# run in parallel.
set -euo pipefail

IT_NAME=$(basename "$0" .sh)
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly IT_NAME IT_DIR

# The settings both binaries read from the environment: one left over in the
# caller's shell (INPUT_FILE, MAX_MESSAGES...) would change what a test
# runs. Tests pass everything they need as flags.
unset KAFKA_TOPIC KAFKA_GROUP_ID EVENT_COUNT MALFORMED_COUNT PUBLISH_RATE \
  INPUT_FILE FLUSH_TIMEOUT MAX_PAYLOAD_BYTES VALIDATE_SCHEMA MAX_MESSAGES \
  IDLE_EXIT_SECONDS LOG_LEVEL TRANSPORT GCP_PROJECT_ID GCP_PUBSUB_TOPIC \
  GCP_PUBSUB_SUBSCRIPTION CREDENTIALS_PATH GOOGLE_APPLICATION_CREDENTIALS \
  PUBSUB_ENDPOINT PUBSUB_CREATE PUBSUB_ORDERING PUBSUB_TIMEOUT \
  PUBSUB_ACK_DEADLINE PUBSUB_MAX_MESSAGES PUBSUB_PULLS KAFKA_GROUP_INSTANCE_ID \
  DLQ_TOPIC DLQ_TIMEOUT LATE_THRESHOLD STATS_INTERVAL METRICS_ADDR LOG_FORMAT \
  SINKS SINK_TIMEOUT PG_TABLE PG_ROUTE_BY VERIFY_SOURCE
# The emulator, too, is passed as a flag (pubsub_init); left in the
# environment it would also send a test's Google client (pubsub_auth.sh) to
# the emulator instead of the server the test starts.
EMULATOR=${PUBSUB_EMULATOR_HOST:-}
unset PUBSUB_EMULATOR_HOST

BROKERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}
KAFKA_SH=${KAFKA_SH:-$IT_DIR/../../scripts/kafka.sh}
export KAFKA_BOOTSTRAP_SERVERS=$BROKERS

if [[ $# -lt 2 ]]; then
  echo "usage: $0 PRODUCER CONSUMER" >&2
  exit 2
fi
PRODUCER=$1
CONSUMER=$2
# shellcheck disable=SC2034 # used by the tests that source this file
readonly PRODUCER CONSUMER BROKERS KAFKA_SH EMULATOR

IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/it-$IT_NAME.XXXXXX")
# Pids of background processes this test started; cleanup ends any still
# running so a failed test never leaves a consumer behind.
IT_PIDS=()

log() { printf '[%s] %s\n' "$IT_NAME" "$*" >&2; }

fail() {
  printf 'FAIL [%s]: %s\n' "$IT_NAME" "$*" >&2
  exit 1
}

# A test that must undo something even when it fails (bring back the broker
# it killed) defines it_on_exit; it runs first, before the test's processes
# are stopped, since a consumer may need the broker to stop cleanly.
it_cleanup() {
  local rc=$? pid f
  if declare -F it_on_exit >/dev/null; then
    it_on_exit || rc=1
  fi
  for pid in "${IT_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${IT_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    # What the binaries said is the first thing one needs after a failure.
    for f in "$IT_TMP"/*.out "$IT_TMP"/*.err; do
      [[ -s $f ]] || continue
      printf -- '--- %s (last 15 lines, cat -v) ---\n' "${f##*/}" >&2
      tail -n 15 "$f" | cat -v >&2
    done
  fi
  if [[ -n ${IT_KEEP:-} ]]; then
    log "kept $IT_TMP (IT_KEEP is set)"
  else
    rm -rf "$IT_TMP"
  fi
}
trap it_cleanup EXIT

# Starts "$@" in the background and records its pid (in $! too).
# Redirections written after `spawn ...` are opened by this shell, which is
# fine for files but would block on a FIFO: start those with & directly.
spawn() {
  "$@" &
  IT_PIDS+=("$!")
}

# Waits for a process started with spawn and returns its exit status; it is
# then no longer ours to signal (its pid may be reused).
reap() {
  local pid=$1 rc=0 i
  wait "$pid" || rc=$?
  for i in "${!IT_PIDS[@]}"; do
    [[ ${IT_PIDS[$i]} != "$pid" ]] || unset "IT_PIDS[$i]"
  done
  return "$rc"
}

# crash PID: SIGKILLs a process started with spawn, as kill -9 or the OOM
# killer would, and reaps it without bash's "Killed" notice.
crash() {
  kill -KILL "$1" 2>/dev/null || true
  { reap "$1"; } 2>/dev/null || true
}

# A topic or group name no other run uses: test, what, time, pid.
unique_name() {
  printf 'it-%s-%s-%s-%s' "$IT_NAME" "$1" "$(date +%s%N)" "$$"
}

require_broker() {
  kcat -b "$BROKERS" -L -m 5 >/dev/null 2>"$IT_TMP/kcat-L.err" ||
    fail "no Kafka broker answers at $BROKERS: $(tail -n 1 "$IT_TMP/kcat-L.err")." \
      "Start one with scripts/kafka.sh start and set KAFKA_BOOTSTRAP_SERVERS."
}

# Waits up to $1 seconds for "${@:2}" to succeed; fails the wait otherwise.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Fails unless kafka.sh (KAFKA_SH, KAFKA_HOME_DIR, KAFKA_PORT) runs the
# broker the tests talk to, so that a mismatch is named instead of acting on
# somebody else's broker.
require_kafka_sh() {
  local status address
  [[ -x $KAFKA_SH ]] || fail "KAFKA_SH=$KAFKA_SH is not an executable kafka.sh"
  status=$("$KAFKA_SH" status 2>&1) ||
    fail "kafka.sh status: $status (KAFKA_HOME_DIR=${KAFKA_HOME_DIR:-<default>}" \
      "KAFKA_PORT=${KAFKA_PORT:-<default>}); the tests need the broker at" \
      "$BROKERS to be one kafka.sh runs"
  address=${status##*bootstrap }
  [[ ${address/localhost/127.0.0.1} == "${BROKERS/localhost/127.0.0.1}" ]] ||
    fail "kafka.sh (KAFKA_HOME_DIR=${KAFKA_HOME_DIR:-<default>}) runs the" \
      "broker at $address, but KAFKA_BOOTSTRAP_SERVERS is $BROKERS;" \
      "set KAFKA_HOME_DIR/KAFKA_PORT to match"
}

# create_topic NAME PARTITIONS [KEY=VALUE...]: through kafka.sh
# (require_kafka_sh), with those topic configs.
create_topic() {
  require_kafka_sh
  "$KAFKA_SH" topic "$@" 2>"$IT_TMP/kafka-topic.err" ||
    fail "kafka.sh topic $* failed: $(cat "$IT_TMP/kafka-topic.err")"
}

# topic_config NAME KEY=VALUE...: changes those configs of topic NAME
# through kafka.sh, which returns once the broker reports them.
topic_config() {
  require_kafka_sh
  "$KAFKA_SH" topic-config "$@" 2>"$IT_TMP/kafka-topic-config.err" ||
    fail "kafka.sh topic-config $* failed: $(cat "$IT_TMP/kafka-topic-config.err")"
}

# broker_kill: SIGKILLs the broker (kafka.sh kill), keeping its data;
# broker_resume brings it back on that data and returns once it serves
# metadata. Any test that kills it must resume it in it_on_exit too: the
# broker is shared with the tests that run after it.
broker_kill() {
  require_kafka_sh
  "$KAFKA_SH" kill 2>"$IT_TMP/kafka-kill.err" ||
    fail "kafka.sh kill failed: $(cat "$IT_TMP/kafka-kill.err")"
}
broker_resume() {
  "$KAFKA_SH" resume 2>"$IT_TMP/kafka-resume.err" ||
    fail "kafka.sh resume failed: $(tail -n 5 "$IT_TMP/kafka-resume.err")"
}

# Every message of TOPIC as kcat sees it, one per line (payload bytes as
# stored; a NULL value is an empty line).
kcat_read() {
  kcat -b "$BROKERS" -C -e -q -o beginning -t "$1" -f '%s\n' ||
    fail "kcat could not read topic $1"
}

# expect_dead_letters DLQ SOURCE GROUP MANIFEST: the dead-letter topic DLQ
# holds exactly one dead letter for each line "PARTITION OFFSET REASON KEY
# FILE" of MANIFEST (the toxic message at that offset of topic SOURCE: KEY
# its key in hex, or - for none; FILE its payload), and nothing else. Each
# one has that key and payload byte for byte (an empty payload stays empty,
# not NULL), and the headers the consumer in GROUP writes: error.reason
# REASON, error.detail, error.position (not_json only), error.time,
# source.topic, source.partition, source.offset, source.timestamp,
# consumer.group and source.key (keyed only), in that order.
#
# kcat writes each message framed by its lengths (%K %S: -1 for NULL), so
# payloads with newlines, NULs or invalid UTF-8 come back exact. Header
# values are unframed ("k=v,k=v"): they are one printable line each, but
# error.detail may hold ',' or '=', so a value runs up to the next known
# header name.
expect_dead_letters() {
  kcat -b "$BROKERS" -C -e -q -o beginning -t "$1" \
    -f '%p %o %K %S\n%k%s\n%h\n' >"$IT_TMP/dead-letters.dump" ||
    fail "kcat could not read the dead-letter topic $1"
  python3 - "$IT_TMP/dead-letters.dump" "$@" <<'EOF' ||
import collections, re, sys

dump, dlq, source, group, manifest = sys.argv[1:]
NAMES = [b"error.reason", b"error.detail", b"error.position", b"error.time",
         b"source.topic", b"source.partition", b"source.offset",
         b"source.timestamp", b"consumer.group", b"source.key"]
TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
problems = []

def problem(msg):
    problems.append(msg)
    if len(problems) >= 20:
        finish()

def finish():
    for p in problems:
        print(f"dead letters on {dlq}: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)

want, files = {}, {}
with open(manifest) as f:
    for line in f:
        part, offset, reason, key, path = line.rstrip("\n").split(" ", 4)
        if path not in files:
            with open(path, "rb") as p:
                files[path] = p.read()
        want[(int(part), int(offset))] = (
            reason, None if key == "-" else bytes.fromhex(key), path)

def headers(line):
    """[(name, value)], a piece not starting with a known name= being
    part of the value before it."""
    out = []
    for piece in line.split(b",") if line else []:
        name = piece.split(b"=", 1)[0]
        if name in NAMES and b"=" in piece:
            out.append([name, piece[len(name) + 1:]])
        elif out:
            out[-1][1] += b"," + piece
        else:
            out.append([b"?", piece])
    return out

seen = collections.Counter()
n = 0
with open(dump, "rb") as f:
    while True:
        head = f.readline()
        if not head:
            break
        n += 1
        try:
            dpart, doff, klen, vlen = map(int, head.split())
        except ValueError:
            problem(f"message {n}: framing lost at {head[:80]!r}")
            finish()
        where = f"partition {dpart} offset {doff}"
        key = f.read(klen) if klen >= 0 else None
        value = f.read(vlen) if vlen >= 0 else None
        if f.read(1) != b"\n":
            problem(f"{where}: framing lost after the payload")
            finish()
        line = f.readline()
        if not line.endswith(b"\n"):
            problem(f"{where}: no header line")
            finish()
        hdrs = headers(line[:-1])
        h = dict(hdrs)
        try:
            src = (int(h[b"source.partition"]), int(h[b"source.offset"]))
        except (KeyError, ValueError):
            problem(f"{where}: no source.partition/source.offset: {line[:200]!r}")
            continue
        if h.get(b"source.topic") != source.encode() or src not in want:
            problem(f"{where}: from {h.get(b'source.topic')!r} {src}, not a"
                    f" toxic message of {source}")
            continue
        seen[src] += 1
        reason, wkey, path = want[src]
        what = f"{where} (source offset {src[1]}, {path.rsplit('/', 1)[-1]})"
        if value is None:
            problem(f"{what}: NULL payload")
        elif value != files[path]:
            diff = next((i for i, (a, b) in enumerate(zip(value, files[path]))
                         if a != b), min(len(value), len(files[path])))
            problem(f"{what}: payload differs from byte {diff} ({len(value)}"
                    f" bytes, expected {len(files[path])})")
        if key != wkey:
            problem(f"{what}: key {key!r}, expected {wkey!r}")
        names = [b"error.reason", b"error.detail"]
        names += [b"error.position"] if reason == "not_json" else []
        names += [b"error.time", b"source.topic", b"source.partition",
                  b"source.offset", b"source.timestamp", b"consumer.group"]
        names += [b"source.key"] if wkey is not None else []
        if [name for name, _ in hdrs] != names:
            problem(f"{what}: headers {[x.decode() for x, _ in hdrs]},"
                    f" expected {[x.decode() for x in names]}")
            continue
        if h[b"error.reason"] != reason.encode():
            problem(f"{what}: error.reason {h[b'error.reason']!r}, expected {reason}")
        if not h[b"error.detail"] or any(c < 0x20 or c == 0x7f
                                         for c in h[b"error.detail"]):
            problem(f"{what}: error.detail empty or not one printable line:"
                    f" {h[b'error.detail'][:120]!r}")
        if reason == "not_json" and not re.fullmatch(
                rb"line=-?\d+ column=-?\d+ position=-?\d+", h[b"error.position"]):
            problem(f"{what}: error.position {h[b'error.position']!r}")
        for name in (b"error.time", b"source.timestamp"):
            if not TIME.fullmatch(h[name]):
                problem(f"{what}: {name.decode()} {h[name]!r} is not RFC 3339")
        if h[b"consumer.group"] != group.encode():
            problem(f"{what}: consumer.group {h[b'consumer.group']!r}")
        if wkey is not None and h[b"source.key"] != wkey:
            problem(f"{what}: source.key {h[b'source.key']!r}, expected {wkey!r}")
for src in sorted(want):
    if seen[src] != 1:
        problem(f"source offset {src[1]} ({want[src][2].rsplit('/', 1)[-1]}):"
                f" {seen[src]} dead letters, expected 1")
finish()
EOF
    fail "the dead-letter topic $1 does not hold exactly the toxic messages (see above)"
}

# The one "Summary:" line the consumer logs at exit, without its prefix.
summary_of() {
  local n
  n=$(grep -c '^INFO: Summary: ' "$1" || true)
  [[ $n -eq 1 ]] || fail "$1: expected exactly one summary line, found $n"
  grep '^INFO: Summary: ' "$1" | sed 's/^INFO: Summary: //'
}

# expect_summary FILE key=value...: each pair must be in the summary as it is.
expect_summary() {
  local file=$1 summary pair
  shift
  summary=" $(summary_of "$file") "
  for pair in "$@"; do
    [[ $summary == *" $pair "* ]] ||
      fail "${file##*/}: summary lacks '$pair': $summary"
  done
}

count_lines() {
  local n
  n=$(wc -l <"$1")
  echo $((n))
}

# Lines of FILE beginning with the fixed string PREFIX.
count_prefix() {
  awk -v p="$2" 'index($0, p) == 1 { n++ } END { print n + 0 }' "$1"
}

# Milliseconds since the epoch; EPOCHREALTIME's decimal separator follows
# the locale, so keep digits only.
now_ms() {
  local us=${EPOCHREALTIME//[!0-9]/}
  echo $((us / 1000))
}

# drop_partial_line FILE: a process killed while writing leaves a last line
# without its newline (stdio writes whole buffers, not whole lines); drop
# it. Nothing of it was acknowledged, so it is printed again in full.
drop_partial_line() {
  python3 - "$1" <<'EOF'
import sys
path = sys.argv[1]
with open(path, "rb") as f:
    data = f.read()
with open(path, "wb") as f:
    f.write(data[:data.rfind(b"\n") + 1])
EOF
}

expect_eq() {
  [[ $2 == "$3" ]] || fail "$1: expected $3, got $2"
}

# consume_rest TOPIC GROUP N NAME: one more run of GROUP, which must read the
# N messages its earlier runs left unacknowledged and exit 0; its output goes
# to $IT_TMP/NAME.out and NAME.err.
consume_rest() {
  local rc=0
  "$CONSUMER" -b "$BROKERS" -t "$1" -g "$2" --max-messages "$3" \
    --idle-exit 20 >"$IT_TMP/$4.out" 2>"$IT_TMP/$4.err" || rc=$?
  expect_eq "$4 exit status" "$rc" 0
}

# N valid events, one per line, each unique (tag and seq), spread over
# several services and holding non-ASCII text: make_events N TAG
make_events() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
n, tag = int(sys.argv[1]), sys.argv[2]
services = ["auth-service", "payment-service", "search-service",
            "api-gateway", "inventory-service", "notification-service"]
levels = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
for i in range(n):
    ev = {"timestamp": "2026-11-22T10:15:%02d.%03dZ" % (i % 60, i % 1000),
          "service_name": services[i % len(services)],
          "level": levels[i % len(levels)],
          "message": "event %d of %s \u00e9t\u00e9 \u2713" % (i, tag),
          "tag": tag, "seq": i}
    print(json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
EOF
}

# Runs the python checks in check.py: check SUBCOMMAND ARGS...
check() {
  python3 "$IT_DIR/check.py" "$@" || fail "check $1 failed (see above)"
}

# run NAME BINARY ARGS...: runs it, leaving NAME.out, NAME.err and $RC.
run() {
  local name=$1
  shift
  RC=0
  "$@" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.err" || RC=$?
}

# expect_error CODE WORD BINARY ARGS...: exit CODE, nothing on stdout,
# exactly one stderr line, an ERROR naming WORD.
expect_error() {
  local code=$1 word=$2 what n
  shift 2
  what="${1##*/} ${*:2}"
  run err "$@"
  expect_eq "exit status of '$what'" "$RC" "$code"
  [[ ! -s $IT_TMP/err.out ]] || fail "'$what' wrote to stdout"
  n=$(count_lines "$IT_TMP/err.err")
  expect_eq "stderr lines of '$what'" "$n" 1
  grep -q '^ERROR: ' "$IT_TMP/err.err" || fail "'$what': stderr is not an ERROR line"
  grep -qF -- "$word" "$IT_TMP/err.err" ||
    fail "'$what': the error does not name '$word': $(cat "$IT_TMP/err.err")"
}

# --- Pub/Sub ----------------------------------------------------------------

# emulator_answers HOST:PORT, shared with scripts/pubsub-emulator.sh.
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/emulator.sh
source "$IT_DIR/../../scripts/lib/emulator.sh"

# require_sdk_emulator WHAT VAR HOST SCRIPT: HOST, the value of the variable
# VAR, is set, is HOST:PORT, and the Cloud SDK's WHAT emulator answers there;
# otherwise the test fails, saying to start one with scripts/SCRIPT.
require_sdk_emulator() {
  [[ -n $3 ]] ||
    fail "$2 is not set. Start the emulator with scripts/$4 start and" \
      "export what it prints."
  [[ $3 =~ ^[^:]+:[0-9]+$ ]] || fail "$2=$3 is not HOST:PORT"
  emulator_answers "$3" ||
    fail "no $1 emulator answers at $2=$3. Start one with scripts/$4 start."
}

require_emulator() {
  require_sdk_emulator Pub/Sub PUBSUB_EMULATOR_HOST "$EMULATOR" pubsub-emulator.sh
}

# A Google Cloud project id no other run uses (6 to 30 of a-z 0-9 -, a
# letter first): time and pid in hex. unique_name's names are valid Pub/Sub
# topic and subscription ids as they are.
unique_project() {
  printf 'it-%x-%x' "$(date +%s%N)" "$$"
}

# pubsub_init: checks the emulator and sets PROJECT, a project of this run's
# own, and PUBSUB, the flags that point either binary at it there.
pubsub_init() {
  require_emulator
  PROJECT=$(unique_project)
  # shellcheck disable=SC2034 # used by the tests that source this file
  PUBSUB=(--transport pubsub --emulator-host "$EMULATOR" --project "$PROJECT")
}

# emulator_api METHOD PATH [JSON]: one REST call to the emulator that does
# not go through our binaries (to set up, or to inspect what they did);
# prints the answer's body and fails the test on any status but 2xx. PATH is
# under /v1/, e.g. projects/P/subscriptions/S.
emulator_api() {
  python3 - "$EMULATOR" "$@" <<'EOF' || fail "emulator: $1 /v1/$2 failed"
import sys, urllib.error, urllib.request
host, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(f"http://{host}/v1/{path}", data=body,
                             method=method,
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.exit(f"HTTP {e.code}: {e.read().decode()}")
EOF
}

# start_relay PORT: a relay (pubsub/tcp_proxy.py) from 127.0.0.1:PORT to the
# emulator, up within 10 s; its pid in $relay (and IT_PIDS). Stopping it
# (SIGTERM) cuts every connection, an outage of the emulator for whatever
# reaches it through PORT; starting it again on PORT ends the outage.
start_relay() {
  python3 "$IT_DIR/pubsub/tcp_proxy.py" "$1" "$EMULATOR" 120 \
    >"$IT_TMP/relay.out" 2>>"$IT_TMP/relay.err" &
  relay=$!
  IT_PIDS+=("$relay")
  wait_until 10 grep -q listening "$IT_TMP/relay.out" ||
    fail "the relay did not start on 127.0.0.1:$1"
}

# expect_ack_deadline SUBSCRIPTION SECONDS: the subscription exists in
# PROJECT with that ack deadline.
expect_ack_deadline() {
  local got
  got=$(emulator_api GET "projects/$PROJECT/subscriptions/$1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("ackDeadlineSeconds"))')
  expect_eq "ackDeadlineSeconds of subscription $1" "$got" "$2"
}

# expect_published FILE N: the producer's stdout FILE is N lines "Published
# message message_id=ID", with N distinct ids.
expect_published() {
  local n
  n=$(count_lines "$1")
  expect_eq "${1##*/}: lines" "$n" "$2"
  n=$(grep -cE '^Published message message_id=[0-9A-Za-z]+$' "$1" || true)
  expect_eq "${1##*/}: 'Published message message_id=ID' lines" "$n" "$2"
  n=$(sort -u "$1" | wc -l)
  expect_eq "${1##*/}: distinct message ids" "$n" "$2"
}

# publish_events TOPIC SUB DEADLINE FILE COUNT: the producer publishes the
# COUNT lines of FILE to TOPIC, creating it and SUB (with that ack deadline)
# first; exit 0, COUNT message ids, the subscription's deadline checked.
publish_events() {
  local rc=0
  "$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$1" --subscription "$2" \
    --create --ack-deadline "$3" --input "$4" \
    >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err" || rc=$?
  expect_eq "producer exit status" "$rc" 0
  expect_published "$IT_TMP/producer.out" "$5"
  expect_ack_deadline "$2" "$3"
}

# The toxic reports in a consumer's stderr FILE, one a line.
toxic_reports() {
  grep -E '^ERROR: (Malformed JSON|Invalid event) received: ' "$1" || true
}

# expect_no_pubsub_name NAME WHY: neither a topic nor a subscription NAME
# exists in PROJECT (a failed check must not create one).
expect_no_pubsub_name() {
  run check-absent python3 - "$EMULATOR" "$PROJECT" "$1" <<'EOF'
import sys, urllib.error, urllib.request
host, project, name = sys.argv[1:4]
for kind in ("topics", "subscriptions"):
    try:
        urllib.request.urlopen(f"http://{host}/v1/projects/{project}/{kind}/{name}",
                               timeout=30)
        sys.exit(f"{kind[:-1]} {name} exists")
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
EOF
  expect_eq "nothing made $2 ($(cat "$IT_TMP/check-absent.err"))" "$RC" 0
}

# --- The operations endpoint (--metrics-addr) and the log settings ----------

# Unset like the settings at the top, and for the same reason: a
# METRICS_ADDR left in the caller's shell would have every binary of every
# test listen on one address, a LOG_FORMAT would change every stderr the
# tests read.
unset METRICS_ADDR LOG_FORMAT STATS_INTERVAL LATE_THRESHOLD

# metrics_port FILE: the port of the endpoint a binary started with
# --metrics-addr 127.0.0.1:0 logged in its stderr FILE ("serving /metrics,
# /healthz and /readyz on http://HOST:PORT", text or JSON); waits up to
# 10 s for that record.
metrics_port() {
  local re='serving /metrics, /healthz and /readyz on http://[^ "]+:[0-9]+' port
  wait_until 10 grep -qE "$re" "$1" ||
    fail "${1##*/}: no 'serving /metrics...' record within 10 s"
  port=$(grep -oE "$re" "$1" | head -n 1)
  port=${port##*:}
  [[ $port -gt 0 ]] || fail "${1##*/}: the endpoint's port is $port"
  echo "$port"
}

# scrape PORT [PATH]: the body of GET http://127.0.0.1:PORT/PATH (default
# metrics) on stdout; fails the test unless it answers 200 within 5 s.
scrape() {
  curl -sS --max-time 5 --fail "http://127.0.0.1:$1/${2:-metrics}" ||
    fail "GET http://127.0.0.1:$1/${2:-metrics} did not answer 200"
}

# http_status PORT PATH [SECONDS]: the status of GET PATH (000 when no
# answer within SECONDS, default 2); never fails.
http_status() {
  curl -s -o /dev/null --max-time "${3:-2}" -w '%{http_code}' \
    "http://127.0.0.1:$1/$2" || true
}

# metric_value FILE SERIES: the value of the sample SERIES (its name and
# labels exactly as exposed, e.g. foo_total{result="valid"}) in the
# exposition FILE; empty when absent.
metric_value() {
  awk -v s="$2" '$1 == s { print $2; exit }' "$1"
}

# free_port: a TCP port of 127.0.0.1 nobody listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

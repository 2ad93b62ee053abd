# shellcheck shell=bash
# Helpers shared by the gateway_* integration tests; sourced after lib.sh,
# never run. ctest runs each of them as
#   bash gateway_NAME.sh PRODUCER CONSUMER GATEWAY
# GATEWAY being event-gateway. The path they test:
#   HTTP POST /ingest -> event-gateway -> Kafka or Pub/Sub (emulator)
#     -> event-consumer --sink firestore --redact phone,email
#     -> Firestore (emulator) tenants/{tenant}/processed_logs/{log_id}
# Besides lib.sh's environment they read
#
#   FIRESTORE_EMULATOR_HOST  the Firestore emulator the tests write to
#                            (scripts/firestore-emulator.sh start prints it;
#                            scripts/test.sh starts its own); no default.
#                            Unset or not answering is a failure, never a
#                            skip. Passed to the consumer as a flag.
#   FIRESTORE_SH             firestore-emulator.sh, for a test that runs an
#                            emulator of its own (default: this repo's)
#
# Each test uses Pub/Sub and Firestore projects, topics, subscriptions and
# tenants of its own (pubsub_init, unique_name), so runs never see each
# other's documents. What the documents must be is checked by
# gateway/firestore.py over the emulator's REST API, independently of the
# consumer's C code.

GATEWAY=${3:-}
[[ -n $GATEWAY && -x $GATEWAY ]] ||
  fail "usage: $0 PRODUCER CONSUMER GATEWAY (event-gateway; got '$GATEWAY')"
FS_EMULATOR=${FIRESTORE_EMULATOR_HOST:-}
FIRESTORE_SH=${FIRESTORE_SH:-$IT_DIR/../../scripts/firestore-emulator.sh}
readonly GATEWAY FIRESTORE_SH
readonly FS_PY=$IT_DIR/gateway/firestore.py
readonly LOAD_PY=$IT_DIR/../../bench/gateway-load.py
# Like lib.sh's list, for the settings the gateway and the firestore sink
# read from the environment: the tests pass everything as flags.
unset FIRESTORE_EMULATOR_HOST GATEWAY_LISTEN MAX_BODY_BYTES API_KEYS_FILE \
  PUBLISH_TIMEOUT GATEWAY_MAX_CONNECTIONS REDACT FIRESTORE_ENDPOINT \
  FIRESTORE_DATABASE FIRESTORE_DEFAULT_TENANT
command -v curl >/dev/null || fail "curl not found"

# --- Firestore -------------------------------------------------------------

# require_firestore: FIRESTORE_EMULATOR_HOST (or the test's own emulator)
# is set and answers.
require_firestore() {
  require_sdk_emulator Firestore FIRESTORE_EMULATOR_HOST "$FS_EMULATOR" \
    firestore-emulator.sh
}

# gateway_init: checks the Pub/Sub and Firestore emulators and sets PROJECT
# (pubsub_init: the project of this run's own, for Pub/Sub and Firestore
# alike), PUBSUB, and SINK: the consumer's flags for the firestore sink in
# PROJECT, redacting phone numbers and e-mail addresses.
gateway_init() {
  pubsub_init
  require_firestore
  # shellcheck disable=SC2034 # used by the tests that source this file
  SINK=(--sink firestore --firestore-emulator-host "$FS_EMULATOR"
    --redact "phone,email")
}

# fs ARGS...: gateway/firestore.py ARGS on the emulator and PROJECT; fails
# the test when it fails (exit 3, a missing document, is returned).
fs() {
  local cmd=$1 rc=0
  shift
  python3 "$FS_PY" "$cmd" "$FS_EMULATOR" "$PROJECT" "$@" || rc=$?
  ((rc == 0 || rc == 3)) || fail "firestore.py $cmd $* failed (see above)"
  return "$rc"
}

# fs_count: the documents of every processed_logs collection of PROJECT.
fs_count() {
  fs count
}

# fs_doc TENANT LOG_ID: the document, decoded (firestore.py get), on stdout;
# fails the test when it does not exist.
fs_doc() {
  local rc=0
  fs get "$1" "$2" || rc=$?
  ((rc == 0)) || fail "no document tenants/$1/processed_logs/$2 in $PROJECT"
}

# fs_expect ACCEPTED [--load-text]: PROJECT holds exactly the documents of
# the "TENANT LOG_ID" lines of ACCEPTED and nothing else, each with the
# contract's fields (firestore.py expect); logs the count per tenant.
fs_expect() {
  local out
  out=$(python3 "$FS_PY" expect "$FS_EMULATOR" "$PROJECT" "$@") ||
    fail "the documents in $PROJECT are not exactly the $(count_lines "$1")" \
      "accepted requests (see above)"
  log "documents per tenant: ${out//$'\n'/, }"
}

# expect_doc TENANT LOG_ID MESSAGE_ID TRANSPORT WHERE EXPECTED: the document
# tenants/TENANT/processed_logs/LOG_ID exists and
#   - holds each field of the JSON object EXPECTED with that value (decoded
#     as firestore.py get does; null: the field is absent);
#   - tenant_id TENANT, log_id LOG_ID, no field "message" (its text is in
#     original_text and modified_data), processed_at a timestamp, and a
#     timestamp in RFC 3339 (the gateway's, UTC with milliseconds, unless
#     EXPECTED gives it);
#   - source_location says where it came from: TRANSPORT (kafka or pubsub)
#     and WHERE, the topic or the subscription; for pubsub its message_id
#     is MESSAGE_ID, for kafka its topic/partition/offset is (the 202's
#     message_id in both cases).
expect_doc() {
  fs_doc "$1" "$2" >"$IT_TMP/doc.json"
  python3 - "$IT_TMP/doc.json" "$@" <<'EOF' ||
import json, re, sys
path, tenant, log_id, mid, transport, where, expected = sys.argv[1:8]
with open(path) as f:
    doc = json.load(f)
want = json.loads(expected)
want.update({"tenant_id": tenant, "log_id": log_id, "message": None})
bad = []
for k, v in want.items():
    if v is None and k in doc:
        bad.append("has %s (%r)" % (k, doc[k]))
    elif v is not None and doc.get(k) != v:
        bad.append("%s is %r, expected %r" % (k, doc.get(k, "<absent>"), v))
ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
pa = doc.get("processed_at")
if not (isinstance(pa, dict) and
        re.fullmatch(ts + r"(\.\d+)?Z", pa.get("timestampValue", ""))):
    bad.append("processed_at %r is not a timestamp" % (pa,))
if "timestamp" not in want and not re.fullmatch(ts + r"\.\d{3}Z",
                                                str(doc.get("timestamp"))):
    bad.append("timestamp %r is not RFC 3339 UTC with ms"
               % (doc.get("timestamp"),))
loc = doc.get("source_location")
if not isinstance(loc, dict) or loc.get("transport") != transport:
    bad.append("source_location %r: not a map with transport %s"
               % (loc, transport))
elif transport == "pubsub":
    sub = str(loc.get("subscription"))
    if sub != where and not sub.endswith("/subscriptions/" + where):
        bad.append("source_location.subscription %r, not %s" % (sub, where))
    if loc.get("message_id") != mid:
        bad.append("source_location.message_id %r, the 202 said %r"
                   % (loc.get("message_id"), mid))
else:
    got = "%s/%s/%s" % (loc.get("topic"), loc.get("partition"),
                        loc.get("offset"))
    if loc.get("topic") != where or got != mid:
        bad.append("source_location %s, the 202 said %s" % (got, mid))
for b in bad:
    print("tenants/%s/processed_logs/%s: %s" % (tenant, log_id, b),
          file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
    fail "tenants/$1/processed_logs/$2 is not the document expected (see" \
      "above): $(head -c 1500 "$IT_TMP/doc.json")"
}

DOCS=0
# wait_docs N SECONDS [PID]: until PROJECT holds N documents or more, at
# most SECONDS (fails then); with PID, fails at once when it exits. DOCS is
# the last count.
wait_docs() {
  local deadline=$((SECONDS + $2))
  while :; do
    DOCS=$(fs_count)
    ((DOCS < $1)) || return 0
    ((SECONDS < deadline)) ||
      fail "$DOCS documents after $2 s, not $1"
    [[ -z ${3:-} ]] || kill -0 "$3" 2>/dev/null ||
      fail "process $3 exited while $1 documents were awaited ($DOCS so far)"
    sleep 0.5
  done
}

# own_firestore DIR: starts a Firestore emulator of the test's own with
# FIRESTORE_SH (state in DIR, a free port) and makes it FS_EMULATOR; the
# test must stop it (own_firestore_stop) in it_on_exit.
own_firestore() {
  local env
  OWN_FS_HOME=$1
  mkdir -p "$OWN_FS_HOME"
  [[ -x $FIRESTORE_SH ]] || fail "FIRESTORE_SH=$FIRESTORE_SH is not executable"
  env=$(FIRESTORE_HOME_DIR=$OWN_FS_HOME FIRESTORE_EMULATOR_PORT=$(free_port) \
    "$FIRESTORE_SH" start 2>"$IT_TMP/firestore-start.err") ||
    fail "firestore-emulator.sh start failed: $(tail -n 5 "$IT_TMP/firestore-start.err")"
  [[ $env == "export FIRESTORE_EMULATOR_HOST="* ]] ||
    fail "firestore-emulator.sh start printed '$env'"
  FS_EMULATOR=${env#export FIRESTORE_EMULATOR_HOST=}
  require_firestore
}

# own_fs ACTION: firestore-emulator.sh ACTION (pause, resume, status, stop)
# on the test's own emulator; fails the test when it fails.
own_fs() {
  FIRESTORE_HOME_DIR=$OWN_FS_HOME "$FIRESTORE_SH" "$1" \
    >"$IT_TMP/firestore-$1.out" 2>"$IT_TMP/firestore-$1.err" ||
    fail "firestore-emulator.sh $1 failed: $(tail -n 5 "$IT_TMP/firestore-$1.err")"
}

# For it_on_exit: the test's own emulator resumed and stopped, if it
# started one.
own_firestore_stop() {
  [[ -n ${OWN_FS_HOME:-} && -d $OWN_FS_HOME ]] || return 0
  FIRESTORE_HOME_DIR=$OWN_FS_HOME "$FIRESTORE_SH" resume >/dev/null 2>&1 || true
  FIRESTORE_HOME_DIR=$OWN_FS_HOME "$FIRESTORE_SH" stop >/dev/null 2>&1
}

# --- Pub/Sub ---------------------------------------------------------------

# pubsub_pair TOPIC SUB DEADLINE: makes the topic and its subscription (that
# ack deadline, seconds) in PROJECT, before anything publishes: a message
# published to a topic without subscriptions is lost.
pubsub_pair() {
  emulator_api PUT "projects/$PROJECT/topics/$1" >/dev/null
  emulator_api PUT "projects/$PROJECT/subscriptions/$2" \
    "{\"topic\": \"projects/$PROJECT/topics/$1\", \"ackDeadlineSeconds\": $3}" \
    >/dev/null
}

# --- The processes ---------------------------------------------------------

# gateway_start NAME ARGS...: event-gateway ARGS on a free loopback port,
# its output in $IT_TMP/NAME.out and NAME.err; returns once GET /healthz
# answers 200 (within 20 s). Sets GW_PID, GW_PORT and GW_URL (its base URL).
gateway_start() {
  local name=$1
  shift
  GW_PORT=$(free_port)
  spawn "$GATEWAY" --listen "127.0.0.1:$GW_PORT" "$@" \
    >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.err"
  GW_PID=$!
  GW_URL=http://127.0.0.1:$GW_PORT
  wait_until 20 serving "$GW_PID" "$GW_PORT" ||
    fail "event-gateway ($name) did not answer GET /healthz in 20 s on $GW_URL"
}

# serving PID PORT: true once GET /healthz on PORT answers 200; fails the
# test when process PID has exited.
serving() {
  kill -0 "$1" 2>/dev/null || fail "process $1 exited before it served"
  [[ $(http_status "$2" healthz) == 200 ]]
}

# exited PID: true once process PID is gone.
exited() {
  ! kill -0 "$1" 2>/dev/null
}

# stop_process PID WHAT: SIGTERM, then its exit status must be 0 within
# 30 s (a graceful stop).
stop_process() {
  local rc=0
  kill -TERM "$1" 2>/dev/null || fail "$2 had already exited"
  wait_until 30 exited "$1" || fail "$2 did not stop within 30 s of SIGTERM"
  reap "$1" || rc=$?
  expect_eq "$2 exit status after SIGTERM" "$rc" 0
}

# consumer_start NAME ARGS...: event-consumer ARGS with its operations
# endpoint on a free port, output in $IT_TMP/NAME.out and NAME.err. Sets
# CONSUMER_PID and CONSUMER_PORT (of /metrics).
consumer_start() {
  local name=$1
  shift
  spawn "$CONSUMER" "$@" --metrics-addr 127.0.0.1:0 \
    >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.err"
  # shellcheck disable=SC2034 # used by the tests that source this file
  CONSUMER_PID=$!
  # shellcheck disable=SC2034
  CONSUMER_PORT=$(metrics_port "$IT_TMP/$name.err")
}

# consume_all NAME ARGS...: event-consumer ARGS, once everything was
# published, until it has been idle 5 s; it must exit 0 having acknowledged
# all it read. Output in $IT_TMP/NAME.out and NAME.err.
consume_all() {
  local name=$1
  shift
  run "$name" "$CONSUMER" "$@" --idle-exit 5
  expect_eq "event-consumer ($name) exit status" "$RC" 0
  expect_summary "$IT_TMP/$name.err" unacknowledged=0
}

# acknowledged PORT: the consumer's event_ingest_messages_acknowledged_total.
acknowledged() {
  scrape "$1" >"$IT_TMP/metrics.txt"
  local n
  n=$(metric_value "$IT_TMP/metrics.txt" event_ingest_messages_acknowledged_total)
  [[ -n $n ]] || fail "/metrics has no event_ingest_messages_acknowledged_total"
  echo "$n"
}

# --- HTTP ------------------------------------------------------------------

# post NAME PATH [CURL-ARG...]: POST (or what -X says) to the gateway's
# PATH; the answer's body in $IT_TMP/NAME.body, its headers in NAME.headers,
# its status in STATUS (000: no answer within 30 s). Never fails.
post() {
  local name=$1 path=$2
  shift 2
  STATUS=$(curl -sS -o "$IT_TMP/$name.body" -D "$IT_TMP/$name.headers" \
    --max-time 30 -w '%{http_code}' "$@" "$GW_URL$path" \
    2>"$IT_TMP/$name.curl") || true
}

# post_json NAME JSON [CURL-ARG...] and post_text NAME TEXT [CURL-ARG...]:
# POST /ingest with that body as application/json, or text/plain.
post_json() {
  post "$1" /ingest -H 'Content-Type: application/json' --data-binary "$2" \
    "${@:3}"
}
post_text() {
  post "$1" /ingest -H 'Content-Type: text/plain' --data-binary "$2" "${@:3}"
}

# header NAME FIELD: the value of header FIELD in the answer NAME (case
# insensitive, without the CR), empty when absent.
header() {
  awk -v f="$2" 'BEGIN { f = tolower(f) ":" }
    { sub(/\r$/, "") }
    tolower(substr($0, 1, length(f))) == f {
      v = substr($0, length(f) + 1); sub(/^[ \t]+/, "", v); print v; exit
    }' "$IT_TMP/$1.headers"
}

# expect_status NAME CODE: the answer NAME had status CODE.
expect_status() {
  [[ $STATUS == "$2" ]] ||
    fail "$1: status $STATUS, expected $2; body: $(head -c 300 "$IT_TMP/$1.body" 2>/dev/null)" \
      "$(cat "$IT_TMP/$1.curl" 2>/dev/null)"
}

# expect_error_body NAME CODE [WORD]: status CODE, Content-Type
# application/json, and a body that is exactly {"error": WORD, "detail":
# TEXT}: two non-empty strings, WORD lowercase ([a-z0-9_]+; the one given,
# when given), TEXT one printable line.
expect_error_body() {
  expect_status "$1" "$2"
  [[ $(header "$1" Content-Type) == application/json* ]] ||
    fail "$1: Content-Type '$(header "$1" Content-Type)', not application/json"
  python3 - "$IT_TMP/$1.body" "${3:-}" <<'EOF' || fail "$1: the error body is not {\"error\": \"${3:-...}\", \"detail\"} (see above)"
import json, re, sys
with open(sys.argv[1], "rb") as f:
    raw = f.read()
try:
    b = json.loads(raw)
except ValueError:
    sys.exit("not JSON: %r" % raw[:200])
if not isinstance(b, dict) or sorted(b) != ["detail", "error"]:
    sys.exit("keys %r, not error and detail: %r" % (
        sorted(b) if isinstance(b, dict) else type(b).__name__, raw[:200]))
if not isinstance(b["error"], str) or not re.fullmatch(r"[a-z0-9_]+", b["error"]):
    sys.exit("error %r is not a lowercase word" % (b["error"],))
if sys.argv[2] and b["error"] != sys.argv[2]:
    sys.exit("error %r, expected %r (detail %r)" % (b["error"], sys.argv[2],
                                                    b["detail"]))
if not isinstance(b["detail"], str) or not b["detail"] or \
        any(ord(c) < 0x20 for c in b["detail"]):
    sys.exit("detail %r is not one printable line" % (b["detail"],))
EOF
}

# expect_accepted NAME TENANT LOG_ID MESSAGE_ID_RE: status 202, and a body
# that is exactly {"status": "accepted", "tenant_id": TENANT, "log_id":
# LOG_ID (or, when LOG_ID is "", a UUID v4), "message_id": a string matching
# MESSAGE_ID_RE}. Sets LOG_ID (the one the gateway gave) and MESSAGE_ID.
expect_accepted() {
  local out
  expect_status "$1" 202
  out=$(python3 - "$IT_TMP/$1.body" "$2" "$3" "$4" <<'EOF'
import json, re, sys
path, tenant, log_id, mid_re = sys.argv[1:5]
with open(path, "rb") as f:
    raw = f.read()
try:
    b = json.loads(raw)
except ValueError:
    sys.exit("not JSON: %r" % raw[:200])
if not isinstance(b, dict) or sorted(b) != ["log_id", "message_id", "status",
                                            "tenant_id"]:
    sys.exit("not the four keys status, tenant_id, log_id, message_id: %r"
             % raw[:300])
if b["status"] != "accepted" or b["tenant_id"] != tenant:
    sys.exit("status %r tenant_id %r" % (b["status"], b["tenant_id"]))
uuid4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
if not isinstance(b["log_id"], str) or not (
        b["log_id"] == log_id if log_id else re.fullmatch(uuid4, b["log_id"])):
    sys.exit("log_id %r, expected %s" % (b["log_id"], log_id or "a UUID v4"))
if not isinstance(b["message_id"], str) or not re.fullmatch(mid_re, b["message_id"]):
    sys.exit("message_id %r does not match %s" % (b["message_id"], mid_re))
print(b["log_id"], b["message_id"])
EOF
  ) || fail "$1: not the 202 body the contract gives (see above)"
  # shellcheck disable=SC2034 # used by the tests that source this file
  LOG_ID=${out%% *}
  # shellcheck disable=SC2034
  MESSAGE_ID=${out#* }
}

# load NAME RATE SECONDS [ARG...]: bench/gateway-load.py on the gateway's
# /ingest at RATE requests a minute for SECONDS (--fail-on-error), the
# accepted pairs in $IT_TMP/NAME.accepted, its report in NAME.out, NAME.err
# and NAME.json. Run it with spawn for a stream in the background; then
# load_done.
load() {
  python3 "$LOAD_PY" --url "$GW_URL/ingest" --rate "$2" --duration "$3" \
    --tenant-prefix "$(unique_name "$1")-" --accepted "$IT_TMP/$1.accepted" \
    --summary "$IT_TMP/$1.json" --fail-on-error "${@:4}" \
    >"$IT_TMP/$1.out" 2>"$IT_TMP/$1.err"
}

# load_done NAME RC: the load NAME exited RC, which must be 0: every request
# was accepted; its report goes to the log. Sets N, the requests accepted
# (and sent).
load_done() {
  local sent
  expect_eq "gateway-load.py exit status ($(tail -n 3 "$IT_TMP/$1.err"))" "$2" 0
  cat "$IT_TMP/$1.out" >&2
  N=$(count_lines "$IT_TMP/$1.accepted")
  sent=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"])' \
    "$IT_TMP/$1.json")
  expect_eq "requests accepted (202) of the $sent sent" "$N" "$sent"
}

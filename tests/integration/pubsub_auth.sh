#!/usr/bin/env bash
# The service-account token flow, which the emulator cannot show (it takes
# no credentials): event-producer with a service-account key file against
# pubsub/fake_google.py, a stand-in for Google's token endpoint and the
# Pub/Sub REST API that checks what Google checks.
#   1. A valid key: the producer signs an RS256 JWT the server verifies,
#      gets a token, sends it as "Authorization: Bearer" with every API
#      request, publishes every line; and no secret (the token, the private
#      key, even the word Bearer) reaches its stdout or stderr, at debug
#      level.
#   2. A missing key file: exit 78 (EX_CONFIG), naming the file.
#   3. A key file that is not JSON: exit 78, naming the file, and none of
#      its content on stderr.
#   4. A key the token endpoint refuses (signed with another private key):
#      a non-zero exit, Google's error_description on one stderr line.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

readonly EVENTS=20 CLIENT_EMAIL=tester@proj.iam.gserviceaccount.com
project=$(unique_project)
topic=$(unique_name topic)

for k in key other; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$IT_TMP/$k.pem" 2>"$IT_TMP/openssl.log" ||
    fail "openssl could not make an RSA key: $(cat "$IT_TMP/openssl.log")"
done
openssl pkey -in "$IT_TMP/key.pem" -pubout -out "$IT_TMP/pub.pem" \
  2>"$IT_TMP/openssl.log" ||
  fail "openssl could not write the public key: $(cat "$IT_TMP/openssl.log")"
grep -q '^-----BEGIN PRIVATE KEY-----$' "$IT_TMP/key.pem" ||
  fail "openssl genpkey did not write a PKCS#8 PEM key"

spawn python3 "$IT_DIR/pubsub/fake_google.py" --port-file "$IT_TMP/port" \
  --log "$IT_TMP/requests.jsonl" --public-key "$IT_TMP/pub.pem" \
  --client-email "$CLIENT_EMAIL" --project "$project" --topic "$topic" \
  --lifetime 110 2>"$IT_TMP/fake_google.err"
server_pid=$!
server_up() { [[ -s $IT_TMP/port ]] || ! kill -0 "$server_pid" 2>/dev/null; }
wait_until 20 server_up || true
[[ -s $IT_TMP/port ]] ||
  fail "fake_google.py did not start: $(tail -n 5 "$IT_TMP/fake_google.err")"
port=$(<"$IT_TMP/port")
endpoint=http://127.0.0.1:$port

# write_key PEM FILE: a service-account key file as Google issues them.
write_key() {
  python3 - "$1" "$2" "$project" "$CLIENT_EMAIL" "$endpoint/token" <<'EOF'
import json, sys
pem, out, project, email, token_uri = sys.argv[1:6]
with open(pem) as f:
    key = f.read()
with open(out, "w") as f:
    json.dump({"type": "service_account", "project_id": project,
               "private_key_id": "kid1", "private_key": key,
               "client_email": email, "client_id": "1",
               "token_uri": token_uri}, f, indent=2)
EOF
}
write_key "$IT_TMP/key.pem" "$IT_TMP/key.json"
write_key "$IT_TMP/other.pem" "$IT_TMP/other.json"
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"

# The flags of every run here: the fake endpoint, with authentication.
AUTH=(--transport pubsub --project "$project" --pubsub-topic "$topic"
  --pubsub-endpoint "$endpoint" --log-level debug)

# expect_no_secret WHAT STRING FILE...: STRING appears in none of FILEs.
expect_no_secret() {
  local what=$1 secret=$2 f
  shift 2
  [[ -n $secret ]] || fail "expect_no_secret: empty $what"
  for f in "$@"; do
    if grep -qF -- "$secret" "$f"; then
      fail "${f##*/} shows $what"
    fi
  done
}

# expect_error_naming FILE WORD: an ERROR line of FILE holds WORD.
expect_error_naming() {
  grep '^ERROR: ' "$1" | grep -qF -- "$2" ||
    fail "${1##*/}: no ERROR line names $2: $(head -n 3 "$1")"
}

# --- 1. a valid key ----------------------------------------------------------
rc=0
"$PRODUCER" "${AUTH[@]}" --credentials "$IT_TMP/key.json" \
  --input "$IT_TMP/events.txt" >"$IT_TMP/producer.out" \
  2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status" "$rc" 0
expect_published "$IT_TMP/producer.out" "$EVENTS"
grep -q "Summary: queued=$EVENTS delivered=$EVENTS failed=0 undelivered=0\$" \
  "$IT_TMP/producer.err" || fail "producer summary is not delivered=$EVENTS"

# What the server saw: valid grants only, its token on every API request,
# and every line published byte for byte. Prints the tokens it issued.
python3 - "$IT_TMP/requests.jsonl" "$IT_TMP/events.txt" "$CLIENT_EMAIL" \
  "$endpoint/token" "$project" "$topic" >"$IT_TMP/tokens.txt" <<'EOF' ||
import base64, collections, json, sys
log, events, email, token_uri, project, topic = sys.argv[1:7]
records = [json.loads(line) for line in open(log, encoding="utf-8")]
grants = [r for r in records if r["path"] == "/token"]
api = [r for r in records if r["path"].startswith("/v1/")]
if not grants:
    sys.exit("the producer never asked /token for a token")
bad = [r for r in grants if r["status"] != 200]
if bad:
    sys.exit(f"the server refused a grant: {bad[0]['problem']}")
for r in grants:
    c, h = r["claims"], r["header"]
    if h.get("alg") != "RS256" or c.get("iss") != email or \
            c.get("aud") != token_uri or c["exp"] - c["iat"] != 3600 or \
            "https://www.googleapis.com/auth/pubsub" not in c["scope"].split():
        sys.exit(f"a grant the server took has wrong claims: {h} {c}")
tokens = {r["access_token"] for r in grants}
if not api:
    sys.exit("the producer made no Pub/Sub API request")
for r in api:
    if r["authorization"] not in {f"Bearer {t}" for t in tokens}:
        sys.exit(f"{r['method']} {r['path']} came with Authorization "
                 f"{'(none)' if r['authorization'] is None else '(not a token the server issued)'}")
    if r["status"] != 200:
        sys.exit(f"{r['method']} {r['path']} got HTTP {r['status']}")
publish = f"/v1/projects/{project}/topics/{topic}:publish"
sent = collections.Counter(base64.b64decode(m["data"]) for r in api
                           if r["path"] == publish for m in r["messages"])
want = collections.Counter(open(events, "rb").read()[:-1].split(b"\n"))
if sent != want:
    sys.exit(f"the server received {sum(sent.values())} messages, not the "
             f"{sum(want.values())} input lines byte for byte")
print("\n".join(sorted(tokens)))
EOF
  fail "the server's log disagrees (see above)"

outputs=("$IT_TMP/producer.out" "$IT_TMP/producer.err")
while IFS= read -r token; do
  expect_no_secret "the access token" "$token" "${outputs[@]}"
done <"$IT_TMP/tokens.txt"
# The key's base64 body, whole and line by line.
grep -v '^-----' "$IT_TMP/key.pem" >"$IT_TMP/key-body.txt"
expect_no_secret "the private key" "$(tr -d '\n' <"$IT_TMP/key-body.txt")" \
  "${outputs[@]}"
while IFS= read -r line; do
  expect_no_secret "a line of the private key" "$line" "${outputs[@]}"
done <"$IT_TMP/key-body.txt"
expect_no_secret "the word Bearer" Bearer "${outputs[@]}"

# --- 2. a missing key file ---------------------------------------------------
rc=0
"$PRODUCER" "${AUTH[@]}" --credentials "$IT_TMP/no-such-key.json" \
  --count 1 --malformed 0 >"$IT_TMP/missing.out" 2>"$IT_TMP/missing.err" ||
  rc=$?
expect_eq "exit status with a missing credentials file (EX_CONFIG)" "$rc" 78
expect_error_naming "$IT_TMP/missing.err" "$IT_TMP/no-such-key.json"

# --- 3. a key file that is not JSON ------------------------------------------
secret=hunter2-$RANDOM$RANDOM-do-not-print
printf '{"type": "service_account", "private_key": "%s",\n  oops\n' \
  "$secret" >"$IT_TMP/broken.json"
rc=0
"$PRODUCER" "${AUTH[@]}" --credentials "$IT_TMP/broken.json" \
  --count 1 --malformed 0 >"$IT_TMP/broken.out" 2>"$IT_TMP/broken.err" ||
  rc=$?
expect_eq "exit status with a credentials file that is not JSON" "$rc" 78
expect_error_naming "$IT_TMP/broken.err" "$IT_TMP/broken.json"
expect_no_secret "the broken file's secret" "$secret" "$IT_TMP/broken.out" \
  "$IT_TMP/broken.err"
expect_no_secret "the broken file's secret" hunter2 "$IT_TMP/broken.err"

# --- 4. a key the token endpoint refuses -------------------------------------
rc=0
"$PRODUCER" "${AUTH[@]}" --credentials "$IT_TMP/other.json" \
  --count 1 --malformed 0 >"$IT_TMP/refused.out" 2>"$IT_TMP/refused.err" ||
  rc=$?
[[ $rc -ne 0 ]] || fail "the producer exited 0 though no token was granted"
grep -q '^ERROR: .*Invalid JWT Signature\.' "$IT_TMP/refused.err" ||
  fail "stderr has no ERROR line with the error_description" \
    "'Invalid JWT Signature.'"
n=$(grep -c '"status": 400' "$IT_TMP/requests.jsonl" || true)
((n >= 1)) || fail "the server never refused a grant: the test proved nothing"
grep -v '^-----' "$IT_TMP/other.pem" >"$IT_TMP/other-body.txt"
while IFS= read -r line; do
  expect_no_secret "a line of the other private key" "$line" \
    "$IT_TMP/refused.out" "$IT_TMP/refused.err"
done <"$IT_TMP/other-body.txt"
log "ok: JWT verified, token on every request, no secret shown; exits 78," \
  "78 and $rc for a missing, broken and refused key"

#!/usr/bin/env bash
# /metrics, scraped while the binaries run, against a run whose counts are
# known: 300 fresh and 40 old valid events (--late-threshold 60), 13 toxic
# messages of every reason (--dlq-topic), and 2 tombstones, on a topic of 2
# partitions. Every counter equals the run's real count, each partition's
# lag gauge reaches 0, the histograms count what they should, promtool
# accepts the exposition, and the summary agrees with the last scrape. The
# producer's messages_produced_total is what the topic holds. 404, 405
# (with Allow) and HEAD. Then 41 hostile connections (40 idle, one
# slowloris sending a byte a second) saturate the endpoint while 5,000
# events stream through: the pipeline does not notice, and /metrics answers
# again once the idle connections time out.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker
command -v promtool >/dev/null ||
  fail "promtool not found (Debian package prometheus; scripts/setup.sh --test installs it)"
command -v curl >/dev/null || fail "curl not found"

readonly FRESH=300 OLD=40 STREAM=5000 LATE_S=60 MAX_PAYLOAD=2048
readonly VALID=$((FRESH + OLD))
# What the endpoint allows (common/httpd.c): a stream must not wait on it,
# so it must be done well before IDLE_TIMEOUT_S frees the endpoint.
readonly IDLE_TIMEOUT_S=5 STREAM_LIMIT_MS=3000
topic=$(unique_name topic)
dlq=$(unique_name dlq)
group=$(unique_name group)
ptopic=$(unique_name produced)
create_topic "$topic" 2

# The run: valid events (fresh: stamped now; old: 2020, so late), toxic
# lines of every reason, in a fixed shuffled order; reasons.txt the count
# of each reason.
python3 - "$FRESH" "$OLD" "$MAX_PAYLOAD" "$IT_TMP/reasons.txt" \
  >"$IT_TMP/input.txt" <<'EOF'
import collections, datetime, json, random, sys
fresh, old, max_payload = map(int, sys.argv[1:4])
reasons_file = sys.argv[4]
now = datetime.datetime.now(datetime.timezone.utc)
def event(ts, i, msg="m"):
    return json.dumps({"timestamp": ts, "service_name": "svc-%d" % (i % 5),
                       "level": "INFO", "message": "%s %d" % (msg, i)},
                      separators=(",", ":"))
lines = [(None, event(now.strftime("%Y-%m-%dT%H:%M:%S.") +
                      "%03dZ" % (now.microsecond // 1000), i))
         for i in range(fresh)]
lines += [(None, event("2020-01-01T00:00:%02dZ" % (i % 60), i))
          for i in range(old)]
ts = "2026-01-01T00:00:00Z"
toxic = [
    ("not_json", "invalid non-JSON string"),
    ("not_json", '{"timestamp":'),
    ("not_json", "just text"),
    ("not_object", "[1,2]"),
    ("not_object", "42"),
    ("missing_field", '{"service_name":"s","level":"INFO","message":"m"}'),
    ("missing_field", '{"timestamp":"%s","service_name":"","level":"INFO","message":"m"}' % ts),
    ("wrong_type", '{"timestamp":"%s","service_name":42,"level":"INFO","message":"m"}' % ts),
    ("bad_timestamp", '{"timestamp":"yesterday","service_name":"s","level":"INFO","message":"m"}'),
    ("bad_timestamp", '{"timestamp":"2026-02-30T00:00:00Z","service_name":"s","level":"INFO","message":"m"}'),
    ("bad_level", '{"timestamp":"%s","service_name":"s","level":"VERBOSE","message":"m"}' % ts),
    ("empty", ""),
    ("too_large", event(ts, 0, "x" * max_payload)),
]
lines += toxic
random.Random(9).shuffle(lines)
for _, line in lines:
    print(line)
with open(reasons_file, "w") as f:
    for reason, n in sorted(collections.Counter(r for r, _ in toxic).items()):
        print(reason, n, file=f)
EOF
toxic=$(awk '{ n += $2 } END { print n }' "$IT_TMP/reasons.txt")
total=$(count_lines "$IT_TMP/input.txt")
expect_eq "input lines" "$total" $((VALID + toxic))

rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/input.txt" \
  >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status" "$rc" 0
grep -q "Summary: queued=$total delivered=$total failed=0 undelivered=0\$" \
  "$IT_TMP/producer.err" || fail "the producer did not deliver the $total lines"
# One tombstone (a key, a NULL value) on each partition, so both have a lag.
for p in 0 1; do
  echo "tomb$p:" | kcat -b "$BROKERS" -P -t "$topic" -p "$p" -Z -K: ||
    fail "kcat could not produce a tombstone"
done
readonly TOMBSTONES=2
total=$((total + TOMBSTONES))

spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" \
  --metrics-addr 127.0.0.1:0 --max-payload-bytes "$MAX_PAYLOAD" \
  --late-threshold "$LATE_S" --dlq-topic "$dlq" --idle-exit 60 \
  >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err"
consumer=$!
port=$(metrics_port "$IT_TMP/consumer.err")
log "consumer serves on port $port"

# scrape_to FILE: the consumer's /metrics into FILE.
scrape_to() {
  scrape "$port" >"$IT_TMP/$1.prom"
}
# value NAME SERIES: a sample of the scrape NAME, "absent" when it is not
# there.
value() {
  local v
  v=$(metric_value "$IT_TMP/$1.prom" "$2")
  echo "${v:-absent}"
}
# at_least NAME SERIES N: that sample is a number >= N.
at_least() {
  local v
  v=$(value "$1" "$2")
  [[ $v =~ ^[0-9]+$ ]] && ((v >= $3))
}
acknowledged() {
  scrape_to now
  at_least now event_ingest_messages_acknowledged_total "$1"
}
lag_series() {
  grep '^event_ingest_consumer_lag_messages{' "$IT_TMP/now.prom" || true
}
# Both partitions' lag 0, and at least one commit.
caught_up() {
  scrape_to now
  [[ $(value now "event_ingest_consumer_lag_messages{topic=\"$topic\",partition=\"0\"}") == 0 &&
    $(value now "event_ingest_consumer_lag_messages{topic=\"$topic\",partition=\"1\"}") == 0 ]] &&
    at_least now event_ingest_commits_total 1
}

wait_until 30 acknowledged "$total" ||
  fail "the consumer acknowledged $(value now event_ingest_messages_acknowledged_total)" \
    "of $total messages in 30 s"
wait_until 15 caught_up ||
  fail "the lag of both partitions did not reach 0 with a commit in 15 s:" \
    "$(lag_series | tr '\n' ' ') commits=$(value now event_ingest_commits_total)"
kill -0 "$consumer" 2>/dev/null || fail "the consumer exited early"
scrape_to run
promtool check metrics <"$IT_TMP/run.prom" >"$IT_TMP/promtool.out" 2>&1 ||
  fail "promtool check metrics rejects the consumer's exposition: $(head -n 5 "$IT_TMP/promtool.out")"

# expect_metric SCRAPE SERIES VALUE: exactly that value.
expect_metric() {
  expect_eq "${1}: $2" "$(value "$1" "$2")" "$3"
}
c=event_ingest_
expect_metric run "${c}messages_consumed_total{result=\"valid\"}" "$VALID"
expect_metric run "${c}messages_consumed_total{result=\"toxic\"}" "$toxic"
for reason in empty too_large not_json not_object missing_field wrong_type \
  bad_timestamp bad_level; do
  n=$(awk -v r="$reason" '$1 == r { print $2 }' "$IT_TMP/reasons.txt")
  grep -q "^${c}toxic_messages_total{reason=\"$reason\"} " "$IT_TMP/run.prom" ||
    fail "no toxic_messages_total series for reason $reason"
  expect_metric run "${c}toxic_messages_total{reason=\"$reason\"}" "${n:-0}"
done
expect_metric run "${c}tombstones_total" "$TOMBSTONES"
expect_metric run "${c}dead_lettered_total" "$toxic"
expect_metric run "${c}messages_acknowledged_total" "$total"
expect_metric run "${c}late_events_total" "$OLD"
expect_metric run "${c}commit_errors_total" 0
expect_metric run "${c}publish_errors_total" 0
expect_metric run "${c}delivery_failures_total" 0
n=$(grep -c "^${c}consumer_lag_messages{" "$IT_TMP/run.prom" || true)
expect_eq "lag series (one per assigned partition)" "$n" 2
# The age histogram: one observation per valid event; the old ones (2020)
# beyond its last bound, the fresh ones within it.
expect_metric run "${c}event_age_seconds_count" "$VALID"
expect_metric run "${c}event_age_seconds_bucket{le=\"+Inf\"}" "$VALID"
expect_metric run "${c}event_age_seconds_bucket{le=\"86400\"}" "$FRESH"
expect_metric run "${c}event_age_seconds_bucket{le=\"0.005\"}" 0
# The batch histogram: one observation per batch, at most one per message.
batches=$(value run "${c}batch_processing_seconds_count")
if ! at_least run "${c}batch_processing_seconds_count" 1 || ((batches > total)); then
  fail "batch_processing_seconds_count is $batches for $total messages"
fi
expect_metric run "${c}batch_processing_seconds_bucket{le=\"+Inf\"}" "$batches"
# Cumulative buckets never decrease; the sums are plausible.
python3 - "$IT_TMP/run.prom" "$OLD" <<'EOF' || fail "the histograms are inconsistent (see above)"
import re, sys, time
path, old = sys.argv[1], int(sys.argv[2])
buckets, sums = {}, {}
for line in open(path):
    m = re.match(r'(\w+)_bucket\{le="([^"]+)"\} (\S+)$', line)
    if m:
        buckets.setdefault(m[1], []).append((float(m[2]), float(m[3])))
    m = re.match(r'(\w+)_sum (\S+)$', line)
    if m:
        sums[m[1]] = float(m[2])
for name, bs in buckets.items():
    if [b for b, _ in bs] != sorted(b for b, _ in bs):
        sys.exit(f"{name}: bounds out of order")
    if any(x > y for (_, x), (_, y) in zip(bs, bs[1:])):
        sys.exit(f"{name}: a cumulative bucket decreases: {bs}")
age_floor = old * (time.time() - time.mktime((2020, 1, 2, 0, 0, 0, 0, 0, 0)))
if sums["event_ingest_event_age_seconds"] < age_floor:
    sys.exit(f"event_age_seconds_sum {sums['event_ingest_event_age_seconds']}"
             f" < {age_floor}: the {old} events of 2020 are not in it")
EOF
version=$("$CONSUMER" --version | awk '{ print $2; exit }')
grep -qE "^${c}build_info\\{program=\"event-consumer\",version=\"$version\",libraries=\"[^\"]*librdkafka[^\"]*\"\\} 1\$" \
  "$IT_TMP/run.prom" || fail "no build_info for event-consumer $version"
! grep -q "^${c}messages_produced_total" "$IT_TMP/run.prom" ||
  fail "the consumer exposes the producer's messages_produced_total"
n=$(kcat -b "$BROKERS" -C -e -q -o beginning -t "$dlq" -f 'x\n' | wc -l)
expect_eq "dead letters on $dlq (kcat)" "$n" "$toxic"
run_total=$total

# One message alone is one batch: each histogram counts exactly one more.
make_events 1 "$topic-alone" | kcat -b "$BROKERS" -P -t "$topic" -p 0 ||
  fail "kcat could not produce"
wait_until 15 acknowledged $((total + 1)) ||
  fail "the consumer did not acknowledge one more message in 15 s"
total=$((total + 1))
scrape_to alone
expect_metric alone "${c}batch_processing_seconds_count" $((batches + 1))
expect_metric alone "${c}event_age_seconds_count" $((VALID + 1))
expect_metric alone "${c}messages_consumed_total{result=\"valid\"}" $((VALID + 1))

# The HTTP side: probes, 404, 405 with Allow, HEAD.
expect_eq "GET /healthz" "$(scrape "$port" healthz)" ok
expect_eq "GET /readyz" "$(scrape "$port" readyz)" ready
for path in nope metrics/ metricsx healthz/x ""; do
  expect_eq "GET /$path" "$(http_status "$port" "$path")" 404
done
for method in POST PUT DELETE PATCH; do
  curl -s -D "$IT_TMP/h.txt" -o /dev/null --max-time 5 -X "$method" \
    --data x "http://127.0.0.1:$port/metrics" || fail "$method /metrics: no answer"
  head -n 1 "$IT_TMP/h.txt" | grep -q '^HTTP/1\.[01] 405 ' ||
    fail "$method /metrics: $(head -n 1 "$IT_TMP/h.txt")"
  grep -qi '^Allow: GET, HEAD' "$IT_TMP/h.txt" ||
    fail "$method /metrics: 405 without 'Allow: GET, HEAD'"
done
curl -s -I --max-time 5 "http://127.0.0.1:$port/metrics" >"$IT_TMP/head.txt" ||
  fail "HEAD /metrics: no answer"
head -n 1 "$IT_TMP/head.txt" | grep -q '^HTTP/1\.[01] 200 ' ||
  fail "HEAD /metrics: $(head -n 1 "$IT_TMP/head.txt")"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$IT_TMP/head.txt" ||
  fail "HEAD /metrics: not the Prometheus text format"
curl -s -D "$IT_TMP/get.txt" -o /dev/null --max-time 5 \
  "http://127.0.0.1:$port/metrics" || fail "GET /metrics: no answer"
grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$IT_TMP/get.txt" ||
  fail "GET /metrics: Content-Type is not text/plain; version=0.0.4"

# The producer's endpoint: 3 events at one every 2 s; in the pause before
# the third, the two the topic holds are the two it counts as produced.
spawn "$PRODUCER" -b "$BROKERS" -t "$ptopic" --count 3 --malformed 0 \
  --rate 0.5 --metrics-addr 127.0.0.1:0 >"$IT_TMP/paced.out" 2>"$IT_TMP/paced.err"
paced=$!
pport=$(metrics_port "$IT_TMP/paced.err")
produced() {
  curl -s --max-time 2 "http://127.0.0.1:$pport/metrics" >"$IT_TMP/producer.prom" &&
    [[ $(metric_value "$IT_TMP/producer.prom" event_ingest_messages_produced_total) == "$1" ]]
}
wait_until 15 produced 2 || fail "the producer's messages_produced_total did not reach 2"
on_topic=$(kcat -b "$BROKERS" -C -e -q -o beginning -t "$ptopic" -f 'x\n' | wc -l)
scrape "$pport" >"$IT_TMP/producer.prom"
expect_metric producer event_ingest_messages_produced_total "$on_topic"
expect_eq "events on the producer's topic in its pause" "$on_topic" 2
promtool check metrics <"$IT_TMP/producer.prom" >"$IT_TMP/promtool.out" 2>&1 ||
  fail "promtool check metrics rejects the producer's exposition: $(head -n 5 "$IT_TMP/promtool.out")"
grep -q '^event_ingest_build_info{program="event-producer",' "$IT_TMP/producer.prom" ||
  fail "no build_info for event-producer"
! grep -q "^${c}messages_consumed_total" "$IT_TMP/producer.prom" ||
  fail "the producer exposes the consumer's metrics"
rc=0
reap "$paced" || rc=$?
expect_eq "paced producer exit status" "$rc" 0
grep -q 'Summary: queued=3 delivered=3 failed=0 undelivered=0$' "$IT_TMP/paced.err" ||
  fail "the paced producer did not deliver its 3 events"

# Hostile clients: a slowloris (one header byte a second) and 40 idle
# connections from 127.0.0.2-6, 8 per address (the per-address limit),
# more than the endpoint's 32.
cat >"$IT_TMP/hostile.py" <<'EOF'
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
slow = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.9", 0))
idle = [socket.create_connection(("127.0.0.1", port),
                                 source_address=("127.0.0.%d" % (2 + i // 8), 0))
        for i in range(40)]
print("connected", flush=True)
request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 1000
start, sent = time.time(), 0
while time.time() - start < seconds:
    try:
        slow.send(request[sent:sent + 1])
    except OSError as e:
        print(f"slowloris cut after {sent} bytes: {e}", flush=True)
        break
    sent += 1
    time.sleep(1)
else:
    print(f"slowloris still connected after {sent} bytes", flush=True)
EOF
make_events "$STREAM" "$topic-stream" >"$IT_TMP/stream.txt"
python3 "$IT_TMP/hostile.py" "$port" 15 >"$IT_TMP/hostile.out" 2>"$IT_TMP/hostile.err" &
hostile=$!
IT_PIDS+=("$hostile")
wait_until 10 grep -q connected "$IT_TMP/hostile.out" ||
  fail "the hostile client did not connect: $(cat "$IT_TMP/hostile.err")"
attack=$(now_ms)
# It bites: the endpoint is full, a scrape gets no answer.
status=$(http_status "$port" metrics 1)
[[ $status == 000 ]] ||
  fail "GET /metrics answered $status under 41 hostile connections: the attack did not saturate the endpoint"

printed() { (($(count_lines "$IT_TMP/consumer.out") >= $1)); }
start=$(now_ms)
kcat -b "$BROKERS" -P -t "$topic" -l "$IT_TMP/stream.txt" ||
  fail "kcat could not produce the stream"
wait_until 30 printed $((VALID + 1 + STREAM)) ||
  fail "the consumer printed $(count_lines "$IT_TMP/consumer.out") of" \
    "$((VALID + 1 + STREAM)) events in 30 s under the hostile clients"
stream_ms=$(($(now_ms) - start))
((stream_ms < STREAM_LIMIT_MS)) ||
  fail "the $STREAM events took $stream_ms ms under the hostile clients" \
    "(limit $STREAM_LIMIT_MS ms): the pipeline waited on the endpoint"
answers() { [[ $(http_status "$port" metrics 1) == 200 ]]; }
wait_until $((IDLE_TIMEOUT_S + 5)) answers ||
  fail "GET /metrics still unanswered $((IDLE_TIMEOUT_S + 5)) s after the attack began"
recovered_ms=$(($(now_ms) - attack))
kill -0 "$hostile" 2>/dev/null ||
  fail "the hostile client stopped before /metrics answered again: $(cat "$IT_TMP/hostile.out")"
if grep -q 'slowloris cut' "$IT_TMP/hostile.out"; then
  slowloris="the slowloris was cut: $(grep 'slowloris cut' "$IT_TMP/hostile.out")"
else
  slowloris="the slowloris still connected"
fi
total=$((total + STREAM))
wait_until 15 acknowledged "$total" ||
  fail "the consumer acknowledged $(value now event_ingest_messages_acknowledged_total)" \
    "of $total messages in 15 s"
crash "$hostile"

# The end: the summary says what the last scrape says.
scrape_to final
expect_metric final "${c}messages_acknowledged_total" "$total"
expect_metric final "${c}messages_consumed_total{result=\"valid\"}" $((VALID + 1 + STREAM))
expect_metric final "${c}messages_consumed_total{result=\"toxic\"}" "$toxic"
kill -TERM "$consumer"
rc=0
reap "$consumer" || rc=$?
expect_eq "consumer exit status after SIGTERM" "$rc" 0
check events "$IT_TMP/consumer.out" $((VALID + 1 + STREAM))
summary=("consumed=$total" "valid=$(value final "${c}messages_consumed_total{result=\"valid\"}")"
  "toxic=$(value final "${c}messages_consumed_total{result=\"toxic\"}")"
  "tombstones=$(value final "${c}tombstones_total")"
  "dead_lettered=$(value final "${c}dead_lettered_total")"
  "late=$(value final "${c}late_events_total")" unacknowledged=0)
for reason in empty too_large not_json not_object missing_field wrong_type \
  bad_timestamp bad_level; do
  summary+=("$reason=$(value final "${c}toxic_messages_total{reason=\"$reason\"}")")
done
expect_summary "$IT_TMP/consumer.err" "${summary[@]}"
log "ok: every count right during the run ($run_total messages, $batches batches" \
  "then one more, late=$OLD, lag 0 on 2 partitions); $STREAM events in" \
  "$stream_ms ms under 41 hostile connections; /metrics answered again" \
  "$recovered_ms ms after the attack began, $slowloris"

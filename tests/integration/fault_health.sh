#!/usr/bin/env bash
# /healthz and /readyz through a broker's life, for the consumer and for the
# producer (--rate, so that it keeps producing): both started before their
# broker exists (alive, not ready), ready once it is up (a consumer only
# once it holds a partition: one whose topic does not exist stays not
# ready), not ready within a few seconds of the broker stopping while
# still alive, and ready again when it comes back. Then the same for a
# Pub/Sub consumer whose relay to the emulator (pubsub/tcp_proxy.py) goes
# down and comes back.
#
# The broker is this test's own (scripts/kafka.sh with a KAFKA_HOME_DIR
# under the test's directory, on free ports): the one the other tests use is
# never touched. it_on_exit stops it, also when the test fails.
#
# Not tested: /healthz turning 503 when the poll loop is stuck. That takes
# a loop blocked for EV_OPS_ALIVE_S (90 s; a consumer whose stdout pipe
# nobody drains would do), too long for this test.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init
[[ -x $KAFKA_SH ]] || fail "KAFKA_SH=$KAFKA_SH is not an executable kafka.sh"
command -v curl >/dev/null || fail "curl not found"

# How long readiness may take to follow the broker: statistics come every
# second; a consumer then joins its group and is assigned.
readonly READY_S=30 DOWN_S=10 STEADY_MS=2500

# A port P with P+1 and P+2 free too (kafka.sh uses all three), below the
# ephemeral range so that no outgoing connection takes one meanwhile.
kport=$(python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000, 3)
    try:
        socks = []
        for q in (p, p + 1, p + 2):
            s = socket.socket()
            s.bind(("127.0.0.1", q))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    break
EOF
)
[[ -n $kport ]] || fail "found no three free ports in a row"
khome=$IT_TMP/kafka
kbrokers=127.0.0.1:$kport
# kafka.sh for this test's own broker.
own_kafka() {
  KAFKA_HOME_DIR=$khome KAFKA_PORT=$kport "$KAFKA_SH" "$@"
}
# shellcheck disable=SC2317 # called by it_cleanup
it_on_exit() {
  local pid
  # Nothing of ours may wait on a broker that is going away.
  for pid in "${IT_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  own_kafka stop >/dev/null 2>&1 || true
}

# probe NAME PORT PATH CODE: GET PATH answers CODE (one try).
probe() {
  local got
  got=$(http_status "$2" "$3")
  [[ $got == "$4" ]] || {
    PROBE_GOT="$1 /$3: $got"
    return 1
  }
}
# probes CODE...: the consumer's and the producer's /healthz and /readyz
# answer CODE_HEALTHZ CODE_READYZ.
probes() {
  probe consumer "$cport" healthz "$1" && probe consumer "$cport" readyz "$2" &&
    probe producer "$pport" healthz "$1" && probe producer "$pport" readyz "$2"
}
# steady HEALTHZ READYZ WHY: the probes answer so for STEADY_MS.
steady() {
  local until=$(($(now_ms) + STEADY_MS))
  while (($(now_ms) < until)); do
    probes "$1" "$2" || fail "$3: $PROBE_GOT (expected healthz $1, readyz $2)"
    kill -0 "$consumer" 2>/dev/null || fail "$3: the consumer exited"
    kill -0 "$producer" 2>/dev/null || fail "$3: the producer exited"
    sleep 0.25
  done
}
# within SECONDS HEALTHZ READYZ WHY: the probes come to answer so; prints
# how long it took, in ms.
within() {
  local start
  start=$(now_ms)
  wait_until "$1" probes "$2" "$3" ||
    fail "$4: not healthz $2, readyz $3 within $1 s: $PROBE_GOT"
  echo $(($(now_ms) - start))
}
printed() { (($(count_lines "$IT_TMP/consumer.out") > $1)); }

# --- Kafka -------------------------------------------------------------------
topic=$(unique_name topic)
group=$(unique_name group)
spawn "$CONSUMER" -b "$kbrokers" -t "$topic" -g "$group" \
  --metrics-addr 127.0.0.1:0 >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err"
consumer=$!
spawn "$PRODUCER" -b "$kbrokers" -t "$topic" --count 1000000 --malformed 0 \
  --rate 20 --flush-timeout 10 --metrics-addr 127.0.0.1:0 \
  >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err"
producer=$!
# A consumer of a topic nobody creates: connected once the broker is up,
# but never assigned a partition, so never ready.
spawn "$CONSUMER" -b "$kbrokers" -t "$(unique_name absent)" -g "$group-absent" \
  --metrics-addr 127.0.0.1:0 >"$IT_TMP/unassigned.out" 2>"$IT_TMP/unassigned.err"
unassigned=$!
cport=$(metrics_port "$IT_TMP/consumer.err")
pport=$(metrics_port "$IT_TMP/producer.err")
uport=$(metrics_port "$IT_TMP/unassigned.err")

# No broker yet: alive, not ready, through several statistics rounds.
steady 200 503 "before the broker is up"

log "starting a broker of our own on $kbrokers"
own_kafka start 2>"$IT_TMP/kafka-start.err" ||
  fail "kafka.sh start failed: $(tail -n 5 "$IT_TMP/kafka-start.err")"
ms=$(within "$READY_S" 200 200 "once the broker is up")
log "ready ${ms} ms after the broker came up"
wait_until "$READY_S" printed 0 || fail "the consumer printed nothing in $READY_S s"
steady 200 200 "while the broker runs"
if ! probe "unassigned consumer" "$uport" healthz 200 ||
  ! probe "unassigned consumer" "$uport" readyz 503; then
  fail "a consumer connected but holding no partition: $PROBE_GOT" \
    "(expected healthz 200, readyz 503)"
fi
! grep -q 'assigned [1-9]' "$IT_TMP/unassigned.err" ||
  fail "the consumer of a topic nobody creates was assigned a partition"
kill -TERM "$unassigned"
rc=0
reap "$unassigned" || rc=$?
expect_eq "unassigned consumer exit status after SIGTERM" "$rc" 0

own_kafka stop 2>"$IT_TMP/kafka-stop.err" ||
  fail "kafka.sh stop failed: $(tail -n 5 "$IT_TMP/kafka-stop.err")"
down_ms=$(within "$DOWN_S" 200 503 "after the broker stopped")
log "not ready ${down_ms} ms after the broker stopped"
steady 200 503 "while the broker is down"

before=$(count_lines "$IT_TMP/consumer.out")
own_kafka resume 2>"$IT_TMP/kafka-resume.err" ||
  fail "kafka.sh resume failed: $(tail -n 5 "$IT_TMP/kafka-resume.err")"
back_ms=$(within "$READY_S" 200 200 "once the broker is back")
log "ready again ${back_ms} ms after the broker came back"
wait_until "$READY_S" printed "$before" ||
  fail "the consumer printed nothing new in $READY_S s after the broker came back"

for pid in "$consumer" "$producer"; do
  kill -TERM "$pid"
  rc=0
  reap "$pid" || rc=$?
  expect_eq "exit status after SIGTERM" "$rc" 0
done
own_kafka stop 2>"$IT_TMP/kafka-stop.err" ||
  fail "kafka.sh stop failed: $(tail -n 5 "$IT_TMP/kafka-stop.err")"

# --- Pub/Sub -------------------------------------------------------------------
sub=$(unique_name sub)
make_events 20 "$sub" >"$IT_TMP/events.txt"
publish_events "$(unique_name topic)" "$sub" 60 "$IT_TMP/events.txt" 20
relay_port=$(free_port)
start_relay "$relay_port"
spawn "$CONSUMER" --transport pubsub --emulator-host "127.0.0.1:$relay_port" \
  --project "$PROJECT" --subscription "$sub" --request-timeout 5 \
  --metrics-addr 127.0.0.1:0 >"$IT_TMP/pubsub.out" 2>"$IT_TMP/pubsub.err"
consumer=$!
cport=$(metrics_port "$IT_TMP/pubsub.err")
# pubsub_probes HEALTHZ READYZ
pubsub_probes() {
  probe "Pub/Sub consumer" "$cport" healthz "$1" &&
    probe "Pub/Sub consumer" "$cport" readyz "$2"
}
wait_until 15 pubsub_probes 200 200 ||
  fail "the Pub/Sub consumer is not healthy and ready in 15 s: $PROBE_GOT"
pubsub_printed() { (($(count_lines "$IT_TMP/pubsub.out") >= 20)); }
wait_until 15 pubsub_printed || fail "the Pub/Sub consumer did not print the 20 events"

kill -TERM "$relay"
wait "$relay" 2>/dev/null || true
start=$(now_ms)
wait_until "$DOWN_S" pubsub_probes 200 503 ||
  fail "the Pub/Sub consumer is not 'alive, not ready' $DOWN_S s into the relay's outage: $PROBE_GOT"
ps_down_ms=$(($(now_ms) - start))
grep -qE '^WARN: pubsub: .*retrying in' "$IT_TMP/pubsub.err" ||
  fail "the Pub/Sub consumer reported no failed pull"
start_relay "$relay_port"
start=$(now_ms)
wait_until "$READY_S" pubsub_probes 200 200 ||
  fail "the Pub/Sub consumer is not ready again $READY_S s after the relay came back: $PROBE_GOT"
ps_back_ms=$(($(now_ms) - start))
kill -TERM "$consumer"
rc=0
reap "$consumer" || rc=$?
expect_eq "Pub/Sub consumer exit status after SIGTERM" "$rc" 0
kill -TERM "$relay" 2>/dev/null || true

log "ok: Kafka: alive and not ready before the broker, ready ${ms} ms after" \
  "it came up, not ready ${down_ms} ms after it stopped (alive all along)," \
  "ready again ${back_ms} ms after it came back (consumer and producer);" \
  "Pub/Sub: not ready ${ps_down_ms} ms into the relay's outage, ready" \
  "${ps_back_ms} ms after it came back"

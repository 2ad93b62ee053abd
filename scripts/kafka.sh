#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, combined broker and
# controller) on 127.0.0.1 for development and integration tests.
#
#   scripts/kafka.sh start    fetch jars if needed, start a FRESH broker, wait until it serves metadata
#   scripts/kafka.sh stop     stop it (exit 0 if nothing was running)
#   scripts/kafka.sh status   exit 0 if running, 3 if not
#   scripts/kafka.sh kill     SIGKILL it, as a crash would (no clean shutdown),
#                             keeping its data (exit 0 if nothing was running)
#   scripts/kafka.sh resume   start it again on the data the last `start`
#                             formatted (topics, messages and committed offsets
#                             kept; same port), wait until it serves metadata
#   scripts/kafka.sh restart  stop, then resume
#   scripts/kafka.sh sasl     print "HOST:PORT USERNAME PASSWORD" of the broker's
#                             SASL/PLAIN listener (see below)
#   scripts/kafka.sh topic NAME PARTITIONS [KEY=VALUE...]
#                             create topic NAME with PARTITIONS partitions, and
#                             each KEY=VALUE as a topic config (e.g.
#                             max.message.bytes=4194304), on the broker `start`
#                             launched for KAFKA_HOME_DIR (at the address it
#                             advertises), wait until every partition has a
#                             leader; fails if that broker is not running
#   scripts/kafka.sh topic-config NAME KEY=VALUE...
#                             set those configs on the existing topic NAME (its
#                             other configs are kept), return once the broker
#                             reports them; a VALUE may be a list (a,b)
#
# Environment:
#   KAFKA_HOME_DIR  state directory (default: <repo>/.kafka, git-ignored)
#   KAFKA_PORT      client port (default 9092); the controller uses KAFKA_PORT+1,
#                   and a SASL_PLAINTEXT listener (mechanism PLAIN) KAFKA_PORT+2,
#                   for the authentication examples and tests: its one user is
#                   `eventingest`, with a password made at every `start` and kept
#                   (mode 600) in the state directory for `resume` and `sasl`
#
# The broker comes from Maven Central through the machine's Maven rather than
# from a Kafka release tarball, because Maven Central is the only place this
# project's machines can download it from, and ~/.m2 gives us caching for free.
set -euo pipefail

readonly KAFKA_VERSION=4.1.0
readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=20
readonly TOPIC_TIMEOUT_S=30
readonly SASL_USER=eventingest

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
support_dir=$script_dir/kafka

port=${KAFKA_PORT:-9092}
# Made absolute, and the paths under it set, in main(): the broker runs with
# the state dir as its cwd.
state_dir=${KAFKA_HOME_DIR:-$repo_root/.kafka}

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib/daemon.sh
source "$script_dir/lib/daemon.sh"

is_kafka_pid() { is_live_process "$1" kafka.Kafka; }

# Prints the recorded pid if that broker is alive; otherwise cleans up a stale
# pid file and fails.
running_pid() { recorded_pid "$pid_file" is_kafka_pid; }

# The address the running broker advertises, read back from its config so
# `status` is right even when KAFKA_PORT differs from what `start` used.
bootstrap_address() {
  local line
  line=$(grep -m1 '^advertised.listeners=' "$config_file" 2>/dev/null) || {
    echo "127.0.0.1:$port"
    return
  }
  # The first listener, PLAINTEXT.
  line=${line#*://}
  echo "${line%%,*}"
}

port_in_use() {
  # A successful connect means something is listening; bash's /dev/tcp avoids
  # depending on ss/netstat output formats.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

require_tools() {
  command -v java >/dev/null || die "java not found (Java 17+ is required)"
  command -v mvn >/dev/null || die "mvn not found (Maven is needed to fetch Kafka)"
  if ! command -v kcat >/dev/null; then
    # kcat is how we tell that the broker is really serving, and tests use it
    # too; it is a plain Debian package.
    [[ $EUID -eq 0 ]] || die "kcat not found; install it with: sudo apt-get install -y kcat"
    log "installing kcat with apt-get..."
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null; then
      # A fresh machine may have no package lists yet.
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
    fi
    command -v kcat >/dev/null || die "kcat install failed"
  fi
}

# Copies Kafka and its runtime dependencies into $libs_dir. The marker holds a
# hash of the POM, so editing the POM (e.g. a version bump) triggers a re-copy
# while an unchanged POM costs nothing. Copying into a temporary directory and
# renaming means an interrupted fetch never leaves a half-filled libs dir that
# looks complete.
fetch_jars() {
  local marker=$libs_dir/.complete want tmp out
  want=$(sha256sum "$support_dir/pom.xml")
  want=${want%% *}
  if [[ -f $marker && $(<"$marker") == "$want" ]]; then
    return 0
  fi
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central (cached in ~/.m2)..."
  tmp=$state_dir/libs.tmp.$$
  rm -rf "$tmp"
  # Maven's output is shown only on failure: even with -B -q, Debian's Maven
  # prints stray ANSI reset codes on success.
  if ! out=$(mvn -B -q -f "$support_dir/pom.xml" \
      dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" 2>&1); then
    printf '%s\n' "$out" >&2
    rm -rf "$tmp"
    die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  fi
  echo "$want" >"$tmp/.complete"
  rm -rf "$libs_dir"
  mv "$tmp" "$libs_dir"
}

# A new random password for the SASL listener's user, in a file only its
# owner reads.
write_sasl_password() {
  (umask 077 && od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$sasl_file")
}

write_config() {
  local ctrl_port=$((port + 1)) sasl_port=$((port + 2)) password
  password=$(<"$sasl_file")
  # It holds the password: created anew, so that the umask applies.
  rm -f "$config_file"
  (umask 077 && cat >"$config_file" <<EOF
# Generated by scripts/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$ctrl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl_port,SASL_PLAINTEXT://127.0.0.1:$sasl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
log.dirs=$data_dir

# Clients authenticate on SASL_PLAINTEXT with PLAIN as $SASL_USER.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$password";

# A single node can only ever hold one replica of the internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests should not wait 3 s for the first consumer group rebalance.
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=true
EOF
  )
}

# Short-lived tool JVMs: a small heap and C1 only start noticeably faster.
# Their log goes to stderr: Kafka logs an INFO line at startup, and on stdout
# it would end up inside the cluster id that random-uuid prints.
run_storage_tool() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$support_dir/log4j2.properties" \
    -Dkafka.dev.log.target=SYSTEM_ERR \
    -cp "$libs_dir/*" kafka.tools.StorageTool "$@"
}

# Tests want a broker with no topics or offsets left over from earlier runs,
# so the data dir is wiped and formatted on every start.
format_storage() {
  local cluster_id
  rm -rf "$data_dir"
  cluster_id=$(run_storage_tool random-uuid 2>>"$log_file") \
    || die "StorageTool random-uuid failed; see $log_file"
  # Kafka stores any string as cluster.id without complaint, so check here
  # that we really got a 22-character base64url UUID and not stray output.
  [[ $cluster_id =~ ^[A-Za-z0-9_-]{22}$ ]] \
    || die "StorageTool random-uuid printed '$cluster_id', not a cluster id"
  run_storage_tool format -t "$cluster_id" -c "$config_file" --standalone \
    >>"$log_file" 2>&1 || {
      tail -n 40 "$log_file" >&2
      die "formatting $data_dir failed"
    }
}

# The broker's own admin tool, in the style of run_storage_tool. Its log
# (the whole AdminClient config at INFO) goes to stderr; stdout carries its
# one-line answer ("Created topic t.", "Error while executing ...").
run_topic_tool() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$support_dir/log4j2.properties" \
    -Dkafka.dev.log.target=SYSTEM_ERR \
    -cp "$libs_dir/*" org.apache.kafka.tools.TopicCommand "$@"
}

# The same for kafka.admin.ConfigCommand, whose answer to a failure, unlike
# TopicCommand's, is on stderr (with a stack trace).
run_config_tool() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$support_dir/log4j2.properties" \
    -Dkafka.dev.log.target=SYSTEM_ERR \
    -cp "$libs_dir/*" kafka.admin.ConfigCommand "$@"
}

stop_pid() { stop_process "$1" kafka.Kafka "$STOP_TIMEOUT_S"; }

# Fails unless $port and the two after it (controller, SASL) are free.
require_free_ports() {
  local p
  for p in "$port" $((port + 1)) $((port + 2)); do
    if port_in_use "$p"; then
      die "127.0.0.1:$p is already in use by another process; stop it or set KAFKA_PORT (the broker needs KAFKA_PORT to KAFKA_PORT+2)"
    fi
  done
}

cmd_start() {
  local pid t0
  if pid=$(running_pid); then
    log "broker already running on $(bootstrap_address) (pid $pid)"
    return 0
  fi
  if ! [[ $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65533 )); then
    die "KAFKA_PORT must be a port number below 65534, got '$port'"
  fi
  require_free_ports
  require_tools

  t0=$(now_us)
  fetch_jars
  : >"$log_file"
  write_sasl_password
  write_config
  format_storage
  launch "$t0"
}

# Starts the broker on the config and data dir as they are, so a broker that
# was killed comes back with its topics, messages and committed offsets: what
# the fault tests need. The config is kept too (not rewritten from
# KAFKA_PORT): the KRaft quorum recorded its controller's address at format.
cmd_resume() {
  local pid t0 address
  if pid=$(running_pid); then
    log "broker already running on $(bootstrap_address) (pid $pid)"
    return 0
  fi
  [[ -f $data_dir/meta.properties && -f $config_file ]] \
    || die "no formatted data in $data_dir to resume; use: $0 start"
  compgen -G "$libs_dir/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null \
    || die "no Kafka jars in $libs_dir; use: $0 start"
  address=$(bootstrap_address)
  port=${address##*:}
  require_free_ports
  require_tools
  t0=$(now_us)
  log "resuming the broker on $data_dir"
  launch "$t0"
}

# launch T0: starts the JVM on $config_file and waits until it serves
# metadata; T0 (now_us) is when the whole start began, for the log line.
launch() {
  local t0=$1 pid deadline why
  # The JVM must not inherit fd 9, or it would hold the state-dir lock for as
  # long as it runs and every later stop/status would hang.
  # setsid puts the JVM in its own session so it outlives this shell and its
  # terminal (no SIGHUP, no job-control signals). Because this script has no
  # job control, the background child is not a process-group leader, so
  # setsid calls setsid(2) in place instead of forking, and with the exec the
  # JVM keeps the pid that $! reports.
  (
    cd "$state_dir"
    exec setsid java \
      -Xms512m -Xmx512m \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent \
      -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$support_dir/log4j2.properties" \
      -cp "$libs_dir/*" \
      kafka.Kafka "$config_file"
  ) </dev/null >>"$log_file" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"

  deadline=$(( $(now_us) + START_TIMEOUT_S * 1000000 ))
  until kcat -b "127.0.0.1:$port" -L -m 2 >/dev/null 2>&1; do
    why=
    if ! is_kafka_pid "$pid"; then
      why="broker exited during startup"
    elif (( $(now_us) > deadline )); then
      why="broker did not answer metadata requests within ${START_TIMEOUT_S}s"
    fi
    if [[ -n $why ]]; then
      log "$why; last lines of $log_file:"
      tail -n 40 "$log_file" >&2
      stop_pid "$pid"
      rm -f "$pid_file"
      exit 1
    fi
    sleep 0.2
  done
  log "broker up on 127.0.0.1:$port (pid $pid, $(elapsed_since "$t0") s)"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    log "broker not running"
    return 0
  fi
  log "stopping broker (pid $pid)..."
  stop_pid "$pid"
  rm -f "$pid_file"
  log "broker stopped"
}

# A crash: no controlled shutdown, nothing flushed beyond what the JVM had
# already handed to the kernel. The data dir stays for `resume`.
cmd_kill() {
  local pid deadline address
  if ! pid=$(running_pid); then
    log "broker not running"
    return 0
  fi
  address=$(bootstrap_address)
  kill -KILL "$pid" 2>/dev/null || true
  # The JVM's main thread turns zombie before its other threads are gone and
  # its sockets closed: wait for the port too, so that `resume` can have it.
  deadline=$(( $(now_us) + STOP_TIMEOUT_S * 1000000 ))
  while is_kafka_pid "$pid" || port_in_use "${address##*:}"; do
    (( $(now_us) < deadline )) || die "broker (pid $pid) still alive ${STOP_TIMEOUT_S}s after SIGKILL"
    sleep 0.1
  done
  rm -f "$pid_file"
  log "broker killed (pid $pid, SIGKILL); its data is kept for: $0 resume"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    echo "running: pid $pid, bootstrap $(bootstrap_address)"
    return 0
  fi
  echo "not running"
  return 3
}

# Kafka's own rules (Topic.validate); checked here so a typo gets a clear
# message instead of a JVM start and a stack trace.
check_topic_name() {
  [[ $1 =~ ^[A-Za-z0-9._-]{1,249}$ && $1 != . && $1 != .. ]] \
    || die "invalid topic name '$1' (1-249 of A-Z a-z 0-9 . _ -)"
}

# check_topic_configs KEY=VALUE...: the form both admin tools accept. A key is
# a topic config name (max.message.bytes); the broker says whether it knows
# it. A VALUE holds no '=' (TopicCommand splits on it), no brackets (the
# list syntax of ConfigCommand) and no control or blank character.
check_topic_configs() {
  local kv re='^[a-z][a-z0-9.]*=[^]=[[:space:][:cntrl:]]+$'
  for kv in "$@"; do
    [[ $kv =~ $re ]] \
      || die "invalid topic config '$kv' (KEY=VALUE: a lowercase config name such as min.insync.replicas, a non-empty value without '=', brackets or blanks)"
  done
}

# Prints the address of the broker `start` launched for $state_dir once it
# is known to serve; dies otherwise.
serving_address() {
  local pid address
  pid=$(running_pid) \
    || die "no broker running for $state_dir; start it with: $0 start"
  address=$(bootstrap_address)
  # A live JVM is not a serving broker; without this check the admin client
  # would retry silently for its 60 s default API timeout.
  kcat -b "$address" -L -m 2 >/dev/null 2>&1 \
    || die "broker (pid $pid) does not answer on $address"
  echo "$address"
}

# Creating the topic up front, rather than letting the first producer
# auto-create it, is the only way to get more than num.partitions (1), or
# configs of its own from the first message on.
cmd_topic() {
  local name=$1 partitions=$2 address out deadline kv
  local configs=()
  shift 2
  check_topic_name "$name"
  [[ $partitions =~ ^[1-9][0-9]{0,4}$ ]] \
    || die "PARTITIONS must be a whole number from 1, got '$partitions'"
  check_topic_configs "$@"
  for kv in "$@"; do
    configs+=(--config "$kv")
  done
  address=$(serving_address) || exit 1
  # The jars are fetched only by `start`, and replacing them under a running
  # JVM is not safe: a broker started before kafka-tools was added to the POM
  # has to be restarted.
  compgen -G "$libs_dir/kafka-tools-$KAFKA_VERSION.jar" >/dev/null \
    || die "kafka-tools is missing from $libs_dir (broker started with an older pom.xml); restart it: $0 stop && $0 start"
  # The configs are part of the create request: the controller commits them
  # with the topic, so no client ever sees the topic without them.
  if ! out=$(run_topic_tool --bootstrap-server "$address" --create \
      --topic "$name" --partitions "$partitions" --replication-factor 1 \
      "${configs[@]}" 2>>"$log_file"); then
    [[ -z $out ]] || printf '%s\n' "$out" >&2
    die "creating topic '$name' failed; see $log_file"
  fi
  # The controller has accepted the topic; wait until the broker serves
  # metadata with a leader for every partition, so a client started right
  # after this returns never sees it half-created.
  deadline=$(( $(now_us) + TOPIC_TIMEOUT_S * 1000000 ))
  until [[ $(kcat -b "$address" -L -t "$name" -m 2 2>/dev/null \
      | grep -c '^    partition [0-9]*, leader [0-9]') == "$partitions" ]]; do
    (( $(now_us) < deadline )) \
      || die "topic '$name' created, but not all $partitions partitions have a leader after ${TOPIC_TIMEOUT_S}s"
    sleep 0.1
  done
  log "created topic $name with $partitions partition(s)${*:+ and $*} on $address"
}

# Changing a config of a live topic: how the fault tests make a topic
# unwritable (a max.message.bytes no message fits) and writable again.
# Incremental (--add-config): the topic's other configs stay.
cmd_topic_config() {
  local name=$1 address out err_file deadline kv value topics
  local pairs=() missing=()
  shift
  check_topic_name "$name"
  check_topic_configs "$@"
  # ConfigCommand takes one comma-separated list; a value that is itself a
  # list (cleanup.policy=compact,delete) goes in brackets.
  for kv in "$@"; do
    value=${kv#*=}
    [[ $value != *,* ]] || kv="${kv%%=*}=[$value]"
    pairs+=("$kv")
  done
  address=$(serving_address) || exit 1
  # The whole-cluster listing: asking for the one topic could auto-create it
  # (auto.create.topics.enable), and its config would then be changed on a
  # topic nobody meant to have.
  topics=$(kcat -b "$address" -L -m 2 2>/dev/null) \
    || die "broker does not answer on $address"
  [[ $topics == *$'\n'"  topic \"$name\" with "* ]] \
    || die "no topic '$name' on $address"
  err_file=$state_dir/topic-config.err.$$
  if ! out=$(IFS=,; run_config_tool --bootstrap-server "$address" --alter \
      --entity-type topics --entity-name "$name" \
      --add-config "${pairs[*]}" 2>"$err_file"); then
    cat "$err_file" >>"$log_file"
    # The reason is the exception's message, under its stack trace.
    [[ -z $out ]] || printf '%s\n' "$out" >&2
    grep -m1 '^Caused by: ' "$err_file" >&2 \
      || grep -v -e '^\[' -e '^[[:space:]]' "$err_file" | tail -n 3 >&2 || true
    rm -f "$err_file"
    die "setting $* on topic '$name' failed; see $log_file"
  fi
  cat "$err_file" >>"$log_file"
  rm -f "$err_file"
  # The controller has committed the change; the broker applies it when the
  # metadata reaches it. Its own describe answer says when that is done, so
  # that a client started after this returns meets the new config.
  deadline=$(( $(now_us) + TOPIC_TIMEOUT_S * 1000000 ))
  missing=("$@")
  while (( ${#missing[@]} )); do
    (( $(now_us) < deadline )) \
      || die "topic '$name': the broker does not report ${missing[*]} ${TOPIC_TIMEOUT_S}s after the change"
    out=$(run_config_tool --bootstrap-server "$address" --describe \
      --entity-type topics --entity-name "$name" 2>>"$log_file") || out=
    missing=()
    for kv in "$@"; do
      [[ $out == *$'\n'"  $kv sensitive="* ]] || missing+=("$kv")
    done
  done
  log "set $* on topic $name on $address"
}

# The SASL listener's address and credentials, for a client to use.
cmd_sasl() {
  local address
  running_pid >/dev/null || die "no broker running for $state_dir; start it with: $0 start"
  [[ -f $sasl_file ]] || die "no SASL password in $sasl_file; restart with: $0 start"
  address=$(bootstrap_address)
  echo "${address%:*}:$((${address##*:} + 2)) $SASL_USER $(<"$sasl_file")"
}

usage() {
  echo "usage: $0 start|stop|status|kill|resume|restart|sasl" >&2
  echo "       $0 topic NAME PARTITIONS [KEY=VALUE...]" >&2
  echo "       $0 topic-config NAME KEY=VALUE..." >&2
  exit 2
}

main() {
  case ${1:-} in
    start | stop | status | kill | resume | restart | sasl) [[ $# -eq 1 ]] || usage ;;
    topic | topic-config) [[ $# -ge 3 ]] || usage ;;
    *) usage ;;
  esac
  # Serialise start/stop/status on one state dir, so two test runners calling
  # `start` at once do not both format the data dir and launch two JVMs.
  lock_state_dir "$state_dir"
  state_dir=$(cd "$state_dir" && pwd)
  libs_dir=$state_dir/libs
  data_dir=$state_dir/data
  config_file=$state_dir/server.properties
  pid_file=$state_dir/kafka.pid
  log_file=$state_dir/kafka.log
  sasl_file=$state_dir/sasl-password

  case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    kill) cmd_kill ;;
    resume) cmd_resume ;;
    restart) cmd_stop && cmd_resume ;;
    sasl) cmd_sasl ;;
    topic) cmd_topic "${@:2}" ;;
    topic-config) cmd_topic_config "${@:2}" ;;
  esac
}

main "$@"

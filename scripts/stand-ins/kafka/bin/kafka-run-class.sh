#!/usr/bin/env bash
# kafka-run-class.sh CLASS [ARGS...]: the stand-in's version of Kafka's
# launcher, a JVM on /opt/kafka/libs. The broker (kafka.Kafka) takes
# KAFKA_HEAP_OPTS (default 1 GB), KAFKA_JVM_PERFORMANCE_OPTS and
# KAFKA_LOG4J_OPTS as Kafka's own script does; a tool starts with a small
# heap and the client compiler and logs warnings only, on stderr, so that a
# health check answers quickly and prints only its answer. KAFKA_OPTS goes
# to both.
set -euo pipefail
class=${1:?usage: kafka-run-class.sh CLASS [ARGS...]}
if [[ $class == kafka.Kafka ]]; then
  heap=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
  perf=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}
  log4j=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/etc/kafka/docker/log4j2.properties}
else
  heap=-Xmx256M
  perf="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true"
  log4j=-Dlog4j2.configurationFile=/etc/kafka/docker/tools-log4j2.properties
fi
# shellcheck disable=SC2086 # the *_OPTS are lists of JVM options
exec java $heap $perf $log4j ${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' "$@"

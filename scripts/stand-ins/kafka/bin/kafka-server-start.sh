#!/usr/bin/env bash
# The stand-in's kafka-server-start.sh: as Kafka's own, kafka.Kafka.
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$@"

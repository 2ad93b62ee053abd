#!/usr/bin/env bash
# The stand-in's kafka-console-producer.sh: as Kafka's own, org.apache.kafka.tools.ConsoleProducer.
exec /opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.ConsoleProducer "$@"

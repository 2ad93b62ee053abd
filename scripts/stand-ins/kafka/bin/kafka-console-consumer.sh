#!/usr/bin/env bash
# The stand-in's kafka-console-consumer.sh: as Kafka's own, org.apache.kafka.tools.consumer.ConsoleConsumer.
exec /opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.consumer.ConsoleConsumer "$@"

#!/usr/bin/env bash
# The stand-in's kafka-consumer-groups.sh: as Kafka's own, org.apache.kafka.tools.consumer.group.ConsumerGroupCommand.
exec /opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"

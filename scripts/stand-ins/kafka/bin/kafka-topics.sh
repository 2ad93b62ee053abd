#!/usr/bin/env bash
# The stand-in's kafka-topics.sh: as Kafka's own, org.apache.kafka.tools.TopicCommand.
exec /opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.TopicCommand "$@"

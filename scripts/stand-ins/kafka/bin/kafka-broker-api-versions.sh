#!/usr/bin/env bash
# The stand-in's kafka-broker-api-versions.sh: as Kafka's own, org.apache.kafka.tools.BrokerApiVersionsCommand.
exec /opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.BrokerApiVersionsCommand "$@"

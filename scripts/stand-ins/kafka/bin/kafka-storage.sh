#!/usr/bin/env bash
# The stand-in's kafka-storage.sh: as Kafka's own, kafka.tools.StorageTool.
exec /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool "$@"

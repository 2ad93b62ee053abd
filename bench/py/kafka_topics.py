#!/usr/bin/env python3
"""Creates Kafka topics in one admin request (one JVM-free round trip,
where scripts/kafka.sh topic starts a JVM per topic: seconds each).

    kafka_topics.py BROKERS PARTITIONS TOPIC...
    kafka_topics.py BROKERS count TOPIC...

Waits until every topic is created and each partition has a leader; exits
non-zero if any failed. With "count": prints "TOPIC MESSAGES" a line, the
sum of the partitions' high watermarks. Runs in the bench virtualenv
(confluent-kafka).
"""
import sys
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def count(brokers, topics):
    consumer = Consumer({"bootstrap.servers": brokers,
                         "group.id": "kafka-topics-count"})
    md = consumer.list_topics(timeout=10)
    for topic in topics:
        total = 0
        for p in md.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=10)
            total += high - low
        print(topic, total)
    consumer.close()


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: kafka_topics.py BROKERS PARTITIONS TOPIC...")
    if argv[2] == "count":
        count(argv[1], argv[3:])
        return
    brokers, partitions, topics = argv[1], int(argv[2]), argv[3:]
    admin = AdminClient({"bootstrap.servers": brokers})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1)
         for t in topics], operation_timeout=30)
    for topic, future in futures.items():
        future.result()  # raises on failure
    # Created on the controller; wait until the broker's metadata has a
    # leader for every partition, so the next client never sees a topic
    # half made.
    deadline = time.monotonic() + 30
    while True:
        md = admin.list_topics(timeout=10)
        ready = all(t in md.topics and not md.topics[t].error
                    and len(md.topics[t].partitions) == partitions
                    and all(p.leader >= 0
                            for p in md.topics[t].partitions.values())
                    for t in topics)
        if ready:
            return
        if time.monotonic() > deadline:
            sys.exit("kafka_topics.py: topics not ready after 30 s")
        time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv)

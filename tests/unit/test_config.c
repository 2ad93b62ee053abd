/*
 * Unit tests for common/config: defaults, environment, flags and the usage
 * errors, one table row per command line. Every row starts from an
 * environment with none of the settings' variables set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define P EV_ROLE_PRODUCER
#define C EV_ROLE_CONSUMER
#define V EV_ROLE_VERIFY
#define G EV_ROLE_GATEWAY

#define MAX_ENV    4
#define MAX_ARGS   14
#define MAX_EXPECT 14

struct config_case {
        const char *name;
        enum ev_role role;
        const char *env[MAX_ENV];   /* "NAME=value" */
        const char *args[MAX_ARGS]; /* argv after argv[0] */
        enum ev_err err;
        /* EV_OK: "field=value" as render() prints it; otherwise substrings
         * of errstr. */
        const char *expect[MAX_EXPECT];
};

/* Every variable any setting reads; unset around each case. */
static const char *const env_names[] = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_TOPIC",
    "KAFKA_GROUP_ID",
    "KAFKA_GROUP_INSTANCE_ID",
    "EVENT_COUNT",
    "MALFORMED_COUNT",
    "PUBLISH_RATE",
    "INPUT_FILE",
    "FLUSH_TIMEOUT",
    "MAX_PAYLOAD_BYTES",
    "VALIDATE_SCHEMA",
    "MAX_MESSAGES",
    "IDLE_EXIT_SECONDS",
    "DLQ_TOPIC",
    "DLQ_TIMEOUT",
    "SINKS",
    "SINK_TIMEOUT",
    "PG_DSN",
    "PG_TABLE",
    "PG_ROUTE_BY",
    "VERIFY_SOURCE",
    "LOG_FORMAT",
    "STATS_INTERVAL",
    "METRICS_ADDR",
    "LATE_THRESHOLD",
    "VALIDATE_THREADS",
    "LOG_LEVEL",
    "TRANSPORT",
    "GCP_PROJECT_ID",
    "GCP_PUBSUB_TOPIC",
    "GCP_PUBSUB_SUBSCRIPTION",
    "CREDENTIALS_PATH",
    "PUBSUB_EMULATOR_HOST",
    "PUBSUB_ENDPOINT",
    "PUBSUB_CREATE",
    "PUBSUB_ORDERING",
    "PUBSUB_TIMEOUT",
    "PUBSUB_ACK_DEADLINE",
    "PUBSUB_MAX_MESSAGES",
    "PUBSUB_PULLS",
    "REDACT",
    "FIRESTORE_EMULATOR_HOST",
    "FIRESTORE_ENDPOINT",
    "FIRESTORE_DATABASE",
    "FIRESTORE_DEFAULT_TENANT",
    "GATEWAY_LISTEN",
    "MAX_BODY_BYTES",
    "API_KEYS_FILE",
    "PUBLISH_TIMEOUT",
    "GATEWAY_MAX_CONNECTIONS",
};

static const struct config_case config_cases[] = {
    /* Defaults. */
    {"producer defaults",
     P,
     {NULL},
     {NULL},
     EV_OK,
     {"action=run", "brokers=localhost:9092", "topic=log-events", "count=10",
      "malformed=3", "rate=0", "flush_timeout=30", "input=(null)",
      "log_level=info", "props="}},
    {"consumer defaults",
     C,
     {NULL},
     {NULL},
     EV_OK,
     {"action=run", "brokers=localhost:9092", "topic=log-events",
      "group=log-events-consumer", "max_payload_bytes=1048576", "schema=true",
      "max_messages=0", "idle_exit=0", "log_level=info",
      "props=", "instance_id=(null)", "dlq_topic=(null)", "dlq_timeout=60",
      "validate_threads=0"}},

    /* The environment. */
    {"env brokers",
     C,
     {"KAFKA_BOOTSTRAP_SERVERS=k1:9092,k2:9092"},
     {NULL},
     EV_OK,
     {"brokers=k1:9092,k2:9092"}},
    {"env topic", P, {"KAFKA_TOPIC=t-env"}, {NULL}, EV_OK, {"topic=t-env"}},
    {"env group", C, {"KAFKA_GROUP_ID=g-env"}, {NULL}, EV_OK, {"group=g-env"}},
    {"env instance id",
     C,
     {"KAFKA_GROUP_INSTANCE_ID=consumer-1"},
     {NULL},
     EV_OK,
     {"instance_id=consumer-1"}},
    {"env log level",
     P,
     {"LOG_LEVEL=debug"},
     {NULL},
     EV_OK,
     {"log_level=debug"}},
    {"env log level WARNING",
     C,
     {"LOG_LEVEL=WARNING"},
     {NULL},
     EV_OK,
     {"log_level=warn"}},
    {"env schema false",
     C,
     {"VALIDATE_SCHEMA=false"},
     {NULL},
     EV_OK,
     {"schema=false"}},
    {"env schema 0", C, {"VALIDATE_SCHEMA=0"}, {NULL}, EV_OK, {"schema=false"}},
    {"env schema TRUE",
     C,
     {"VALIDATE_SCHEMA=TRUE"},
     {NULL},
     EV_OK,
     {"schema=true"}},
    {"env counts",
     P,
     {"EVENT_COUNT=5", "MALFORMED_COUNT=0"},
     {NULL},
     EV_OK,
     {"count=5", "malformed=0"}},
    {"env producer rest",
     P,
     {"PUBLISH_RATE=100.5", "INPUT_FILE=-", "FLUSH_TIMEOUT=0.25"},
     {NULL},
     EV_OK,
     {"rate=100.5", "input=-", "flush_timeout=0.25"}},
    {"env consumer rest",
     C,
     {"MAX_PAYLOAD_BYTES=256", "MAX_MESSAGES=7", "IDLE_EXIT_SECONDS=2.5"},
     {NULL},
     EV_OK,
     {"max_payload_bytes=256", "max_messages=7", "idle_exit=2.5"}},
    /* A variable for the other role is not read, so not checked either. */
    {"producer ignores KAFKA_GROUP_ID",
     P,
     {"KAFKA_GROUP_ID="},
     {NULL},
     EV_OK,
     {"action=run"}},
    {"producer ignores KAFKA_GROUP_INSTANCE_ID",
     P,
     {"KAFKA_GROUP_INSTANCE_ID="},
     {NULL},
     EV_OK,
     {"action=run"}},
    {"consumer ignores EVENT_COUNT",
     C,
     {"EVENT_COUNT=abc"},
     {NULL},
     EV_OK,
     {"action=run"}},

    /* Flags, and flags over the environment. */
    {"short flags, producer",
     P,
     {NULL},
     {"-b", "h:1", "-t", "t1", "-c", "3", "-m", "2", "-r", "50", "-i", "f.txt"},
     EV_OK,
     {"brokers=h:1", "topic=t1", "count=3", "malformed=2", "rate=50",
      "input=f.txt"}},
    {"short flags, consumer",
     C,
     {NULL},
     {"-b", "h:2", "-t", "t2", "-g", "g2", "-n", "9"},
     EV_OK,
     {"brokers=h:2", "topic=t2", "group=g2", "max_messages=9"}},
    {"short flags, joined",
     P,
     {NULL},
     {"-c7", "-tjoined"},
     EV_OK,
     {"count=7", "topic=joined"}},
    {"long flags",
     C,
     {NULL},
     {"--brokers", "h:3", "--topic=t3", "--group", "g3", "--max-messages=4",
      "--idle-exit", "1.5", "--max-payload-bytes", "512", "--log-level",
      "ERROR"},
     EV_OK,
     {"brokers=h:3", "topic=t3", "group=g3", "max_messages=4", "idle_exit=1.5",
      "max_payload_bytes=512", "log_level=error"}},
    {"long flags, producer",
     P,
     {NULL},
     {"--count", "0", "--malformed=1", "--rate", "0.5", "--flush-timeout", "2",
      "--input", "-"},
     EV_OK,
     {"count=0", "malformed=1", "rate=0.5", "flush_timeout=2", "input=-"}},
    {"--no-schema", C, {NULL}, {"--no-schema"}, EV_OK, {"schema=false"}},
    {"flag over env: topic",
     P,
     {"KAFKA_TOPIC=from-env"},
     {"--topic", "flag"},
     EV_OK,
     {"topic=flag"}},
    {"flag over env: count",
     P,
     {"EVENT_COUNT=5"},
     {"-c", "7"},
     EV_OK,
     {"count=7"}},
    {"flag over env: schema",
     C,
     {"VALIDATE_SCHEMA=true"},
     {"--no-schema"},
     EV_OK,
     {"schema=false"}},
    {"flag over env: log level",
     C,
     {"LOG_LEVEL=error"},
     {"--log-level", "debug"},
     EV_OK,
     {"log_level=debug"}},
    {"operations settings",
     C,
     {"LOG_FORMAT=json", "STATS_INTERVAL=10", "METRICS_ADDR=0.0.0.0:9100"},
     {"--late-threshold", "2.5"},
     EV_OK,
     {"log_format=json", "stats_interval=10", "metrics_addr=0.0.0.0:9100",
      "late_threshold=2.5"}},
    {"producer operations settings",
     P,
     {NULL},
     {"--log-format", "json", "--metrics-addr", "[::1]:0"},
     EV_OK,
     {"log_format=json", "metrics_addr=[::1]:0", "stats_interval=0"}},
    {"env dead-letter topic",
     C,
     {"DLQ_TOPIC=events.dlq", "DLQ_TIMEOUT=2.5"},
     {NULL},
     EV_OK,
     {"dlq_topic=events.dlq", "dlq_timeout=2.5"}},
    {"flag over env: dead-letter topic",
     C,
     {"DLQ_TOPIC=from-env", "DLQ_TIMEOUT=9"},
     {"--dlq-topic", "dlq-1", "--dlq-timeout", "0.5"},
     EV_OK,
     {"dlq_topic=dlq-1", "dlq_timeout=0.5"}},
    /* Sinks: a list in the environment, repeatable flags that add up,
     * the first flag replacing the environment's list. */
    {"consumer sink defaults",
     C,
     {NULL},
     {NULL},
     EV_OK,
     {"sinks=stdout", "sink_timeout=120", "pg_dsn=(null)",
      "pg_table=log_events", "pg_route_by=(null)"}},
    {"env sinks",
     C,
     {"SINKS=stdout,postgres", "SINK_TIMEOUT=0", "PG_TABLE=events_2"},
     {NULL},
     EV_OK,
     {"sinks=stdout,postgres", "sink_timeout=0", "pg_table=events_2"}},
    {"env sinks, one",
     C,
     {"SINKS=postgres"},
     {NULL},
     EV_OK,
     {"sinks=postgres"}},
    {"flags add up",
     C,
     {NULL},
     {"--sink", "postgres", "--sink", "stdout"},
     EV_OK,
     {"sinks=stdout,postgres"}},
    {"a flag replaces the env list",
     C,
     {"SINKS=stdout,postgres"},
     {"--sink", "postgres"},
     EV_OK,
     {"sinks=postgres"}},
    {"the same sink twice",
     C,
     {NULL},
     {"--sink", "postgres,postgres"},
     EV_OK,
     {"sinks=postgres"}},
    {"sink unknown",
     C,
     {NULL},
     {"--sink", "file"},
     EV_ERR_USAGE,
     {"--sink", "'file'"}},
    {"sink empty item",
     C,
     {"SINKS=stdout,,postgres"},
     {NULL},
     EV_ERR_USAGE,
     {"SINKS"}},
    {"sink trailing comma",
     C,
     {NULL},
     {"--sink", "stdout,"},
     EV_ERR_USAGE,
     {"--sink"}},
    {"sink case", C, {NULL}, {"--sink", "Postgres"}, EV_ERR_USAGE, {"--sink"}},
    /* The firestore sink, and redaction. */
    {"firestore defaults",
     C,
     {"SINKS=firestore", "GCP_PROJECT_ID=proj-one"},
     {NULL},
     EV_OK,
     {"sinks=firestore", "firestore_emulator_host=(null)",
      "firestore_endpoint=https://firestore.googleapis.com",
      "firestore_database=(default)", "firestore_default_tenant=default",
      "project=proj-one", "redact=none"}},
    {"firestore settings",
     C,
     {"FIRESTORE_EMULATOR_HOST=127.0.0.1:8086", "FIRESTORE_DATABASE=logs"},
     {"--sink", "stdout,firestore", "--project", "p-1",
      "--firestore-default-tenant", "acme", "--firestore-endpoint",
      "http://fs:1"},
     EV_OK,
     {"sinks=stdout,firestore", "firestore_emulator_host=127.0.0.1:8086",
      "firestore_database=logs", "firestore_default_tenant=acme",
      "firestore_endpoint=http://fs:1"}},
    {"firestore needs a project",
     C,
     {NULL},
     {"--sink", "firestore"},
     EV_ERR_USAGE,
     {"GCP_PROJECT_ID", "--sink firestore"}},
    {"firestore project on kafka",
     C,
     {"GCP_PROJECT_ID=p-2"},
     {"--sink", "firestore", "--transport", "kafka"},
     EV_OK,
     {"sinks=firestore", "project=p-2"}},
    {"redact both",
     C,
     {"REDACT=phone,email"},
     {NULL},
     EV_OK,
     {"redact=phone,email"}},
    {"redact flag over env",
     C,
     {"REDACT=phone"},
     {"--redact", "email"},
     EV_OK,
     {"redact=email"}},
    {"redact none", C, {"REDACT=none"}, {NULL}, EV_OK, {"redact=none"}},
    {"redact unknown",
     C,
     {NULL},
     {"--redact", "phone,ssn"},
     EV_ERR_USAGE,
     {"--redact", "'phone,ssn'", "phone, email"}},
    {"redact empty item",
     C,
     {"REDACT=phone,"},
     {NULL},
     EV_ERR_USAGE,
     {"REDACT"}},
    {"redact none mixed",
     C,
     {NULL},
     {"--redact", "none,phone"},
     EV_ERR_USAGE,
     {"--redact"}},
    {"producer ignores REDACT",
     P,
     {"REDACT=bogus"},
     {NULL},
     EV_OK,
     {"action=run"}},
    /* event-gateway. */
    {"gateway defaults",
     G,
     {NULL},
     {NULL},
     EV_OK,
     {"action=run", "listen=0.0.0.0:8080", "max_body_bytes=1048576",
      "api_keys=(null)", "publish_timeout=10", "max_conns=1024",
      "transport=kafka", "brokers=localhost:9092", "topic=log-events",
      "flush_timeout=30"}},
    {"gateway env",
     G,
     {"GATEWAY_LISTEN=127.0.0.1:0", "MAX_BODY_BYTES=10",
      "API_KEYS_FILE=keys.txt", "PUBLISH_TIMEOUT=0.5"},
     {NULL},
     EV_OK,
     {"listen=127.0.0.1:0", "max_body_bytes=10", "api_keys=keys.txt",
      "publish_timeout=0.5"}},
    {"gateway flags",
     G,
     {NULL},
     {"-l", "[::1]:8081", "--max-connections", "8", "--transport", "pubsub",
      "--project", "p-3", "--create", "--pubsub-topic", "t-gw"},
     EV_OK,
     {"listen=[::1]:8081", "max_conns=8", "transport=pubsub", "project=p-3",
      "create=true", "pubsub_topic=t-gw"}},
    {"gateway body size zero",
     G,
     {NULL},
     {"--max-body-bytes", "0"},
     EV_ERR_USAGE,
     {"--max-body-bytes", "1 or more"}},
    {"gateway has no group",
     G,
     {NULL},
     {"--group", "g"},
     EV_ERR_USAGE,
     {"'--group'"}},
    {"gateway has no sink",
     G,
     {NULL},
     {"--sink", "stdout"},
     EV_ERR_USAGE,
     {"'--sink'"}},
    {"gateway pubsub needs a project",
     G,
     {"TRANSPORT=pubsub"},
     {NULL},
     EV_ERR_USAGE,
     {"GCP_PROJECT_ID"}},
    {"consumer has no listen",
     C,
     {NULL},
     {"--listen", "x:1"},
     EV_ERR_USAGE,
     {"'--listen'"}},
    {"consumer ignores GATEWAY_LISTEN",
     C,
     {"GATEWAY_LISTEN="},
     {NULL},
     EV_OK,
     {"action=run"}},
    {"pg table uppercase",
     C,
     {NULL},
     {"--pg-table", "Events"},
     EV_ERR_USAGE,
     {"--pg-table", "'Events'"}},
    {"pg table quote",
     C,
     {"PG_TABLE=a\"b"},
     {NULL},
     EV_ERR_USAGE,
     {"PG_TABLE"}},
    {"pg table schema",
     C,
     {NULL},
     {"--pg-table", "public.t"},
     EV_ERR_USAGE,
     {"--pg-table"}},
    {"pg table too long",
     C,
     {NULL},
     {"--pg-table", "t2345678901234567890123456789012345678901"},
     EV_ERR_USAGE,
     {"--pg-table"}},
    {"sink timeout bad",
     C,
     {NULL},
     {"--sink-timeout", "-1"},
     EV_ERR_USAGE,
     {"--sink-timeout"}},
    {"pg flags",
     C,
     {NULL},
     {"--pg-dsn", "postgresql://u@h/db", "--pg-route-by", "event_type"},
     EV_OK,
     {"pg_dsn=postgresql://u@h/db", "pg_route_by=event_type"}},
    {"flag over env: instance id",
     C,
     {"KAFKA_GROUP_INSTANCE_ID=from-env"},
     {"--instance-id", "pod-0"},
     EV_OK,
     {"instance_id=pod-0"}},
    {"flag over env: brokers",
     C,
     {"KAFKA_BOOTSTRAP_SERVERS=env:1"},
     {"-b", "flag:1"},
     EV_OK,
     {"brokers=flag:1"}},
    {"last flag wins",
     P,
     {NULL},
     {"-c", "1", "--count", "2"},
     EV_OK,
     {"count=2"}},
    {"-- ends the options", P, {NULL}, {"-c", "4", "--"}, EV_OK, {"count=4"}},

    /* -X passthrough. */
    {"-X once",
     C,
     {NULL},
     {"-X", "security.protocol=SSL"},
     EV_OK,
     {"props=security.protocol=SSL"}},
    {"-X order kept",
     P,
     {NULL},
     {"-X", "b.key=2", "-X", "a.key=1", "-Xc.key=3"},
     EV_OK,
     {"props=b.key=2|a.key=1|c.key=3"}},
    {"-X value with '='",
     C,
     {NULL},
     {"-X", "sasl.jaas.config=user=a pass=b="},
     EV_OK,
     {"props=sasl.jaas.config=user=a pass=b="}},
    {"-X empty value",
     C,
     {NULL},
     {"-X", "client.id="},
     EV_OK,
     {"props=client.id="}},
    {"-X same key twice",
     C,
     {NULL},
     {"-X", "k=1", "-X", "k=2"},
     EV_OK,
     {"props=k=1|k=2"}},

    /* --help and --version. */
    {"--help", P, {NULL}, {"--help"}, EV_OK, {"action=help"}},
    {"-h", C, {NULL}, {"-h"}, EV_OK, {"action=help"}},
    {"--version", C, {NULL}, {"--version"}, EV_OK, {"action=version"}},
    {"-V", P, {NULL}, {"-V"}, EV_OK, {"action=version"}},
    {"--help after settings",
     C,
     {NULL},
     {"-t", "x", "--help"},
     EV_OK,
     {"action=help"}},

    /* Usage errors name the setting and where the value came from. */
    {"count abc",
     P,
     {NULL},
     {"-c", "abc"},
     EV_ERR_USAGE,
     {"count", "'abc'", "whole number"}},
    {"count -1", P, {NULL}, {"--count", "-1"}, EV_ERR_USAGE, {"count", "'-1'"}},
    {"count 1.5", P, {NULL}, {"--count=1.5"}, EV_ERR_USAGE, {"count", "1.5"}},
    {"count empty", P, {NULL}, {"--count", ""}, EV_ERR_USAGE, {"count"}},
    {"count 12x", P, {NULL}, {"-c", "12x"}, EV_ERR_USAGE, {"count", "12x"}},
    {"count +5", P, {NULL}, {"-c", "+5"}, EV_ERR_USAGE, {"count"}},
    {"count with a space", P, {NULL}, {"-c", " 5"}, EV_ERR_USAGE, {"count"}},
    {"count overflow",
     P,
     {NULL},
     {"-c", "99999999999999999999999"},
     EV_ERR_USAGE,
     {"count"}},
    {"env count abc",
     P,
     {"EVENT_COUNT=abc"},
     {NULL},
     EV_ERR_USAGE,
     {"EVENT_COUNT", "abc"}},
    {"env count -1",
     P,
     {"MALFORMED_COUNT=-1"},
     {NULL},
     EV_ERR_USAGE,
     {"MALFORMED_COUNT"}},
    {"max-messages x", C, {NULL}, {"-n", "x"}, EV_ERR_USAGE, {"max-messages"}},
    {"empty topic flag",
     P,
     {NULL},
     {"--topic", ""},
     EV_ERR_USAGE,
     {"topic", "non-empty"}},
    {"empty topic env",
     C,
     {"KAFKA_TOPIC="},
     {NULL},
     EV_ERR_USAGE,
     {"KAFKA_TOPIC", "non-empty"}},
    {"empty brokers flag", C, {NULL}, {"-b", ""}, EV_ERR_USAGE, {"brokers"}},
    {"empty group env",
     C,
     {"KAFKA_GROUP_ID="},
     {NULL},
     EV_ERR_USAGE,
     {"KAFKA_GROUP_ID"}},
    {"empty instance id env",
     C,
     {"KAFKA_GROUP_INSTANCE_ID="},
     {NULL},
     EV_ERR_USAGE,
     {"KAFKA_GROUP_INSTANCE_ID", "non-empty"}},
    {"empty --instance-id",
     C,
     {NULL},
     {"--instance-id="},
     EV_ERR_USAGE,
     {"--instance-id", "non-empty"}},
    {"bad --log-format",
     C,
     {NULL},
     {"--log-format", "yaml"},
     EV_ERR_USAGE,
     {"--log-format", "text or json"}},
    {"producer has no --late-threshold",
     P,
     {NULL},
     {"--late-threshold", "3"},
     EV_ERR_USAGE,
     {"unknown option", "--late-threshold"}},
    {"bad --dlq-timeout",
     C,
     {NULL},
     {"--dlq-timeout", "-1"},
     EV_ERR_USAGE,
     {"--dlq-timeout", "a number"}},
    {"empty DLQ_TOPIC",
     C,
     {"DLQ_TOPIC="},
     {NULL},
     EV_ERR_USAGE,
     {"DLQ_TOPIC", "non-empty"}},
    {"producer has no --dlq-topic",
     P,
     {NULL},
     {"--dlq-topic", "x"},
     EV_ERR_USAGE,
     {"unknown option", "--dlq-topic"}},
    {"producer has no --instance-id",
     P,
     {NULL},
     {"--instance-id", "x"},
     EV_ERR_USAGE,
     {"unknown option", "--instance-id"}},
    {"unknown long option",
     P,
     {NULL},
     {"--bogus"},
     EV_ERR_USAGE,
     {"unknown option", "--bogus"}},
    {"unknown short option",
     C,
     {NULL},
     {"-z"},
     EV_ERR_USAGE,
     {"unknown option", "-z"}},
    {"unknown short option in a group",
     P,
     {NULL},
     {"-zq"},
     EV_ERR_USAGE,
     {"unknown option", "-z"}},
    {"value for a flag that takes none",
     C,
     {NULL},
     {"--no-schema=false"},
     EV_ERR_USAGE,
     {"'--no-schema' takes no value"}},
    {"value for --help", P, {NULL}, {"--help=x"}, EV_ERR_USAGE, {"--help"}},
    {"unknown short option after a value",
     P,
     {NULL},
     {"-c", "5", "-zq"},
     EV_ERR_USAGE,
     {"unknown option", "-z"}},
    {"missing value, long",
     P,
     {NULL},
     {"--topic"},
     EV_ERR_USAGE,
     {"--topic", "needs a value"}},
    {"missing value, short",
     C,
     {NULL},
     {"-g"},
     EV_ERR_USAGE,
     {"-g", "needs a value"}},
    {"missing value, -X",
     C,
     {NULL},
     {"-X"},
     EV_ERR_USAGE,
     {"-X", "needs a value"}},
    {"-X without '='",
     C,
     {NULL},
     {"-X", "security.protocol"},
     EV_ERR_USAGE,
     {"-X", "key=value", "security.protocol"}},
    {"-X empty key",
     P,
     {NULL},
     {"-X", "=v"},
     EV_ERR_USAGE,
     {"-X", "key=value"}},
    {"-X empty", P, {NULL}, {"-X", ""}, EV_ERR_USAGE, {"-X"}},
    {"bad log level flag",
     C,
     {NULL},
     {"--log-level", "loud"},
     EV_ERR_USAGE,
     {"log-level", "loud", "debug, info, warn, error"}},
    {"bad log level env",
     P,
     {"LOG_LEVEL=fatal"},
     {NULL},
     EV_ERR_USAGE,
     {"LOG_LEVEL", "fatal"}},
    {"bad VALIDATE_SCHEMA",
     C,
     {"VALIDATE_SCHEMA=maybe"},
     {NULL},
     EV_ERR_USAGE,
     {"VALIDATE_SCHEMA", "maybe", "true or false"}},
    {"empty VALIDATE_SCHEMA",
     C,
     {"VALIDATE_SCHEMA="},
     {NULL},
     EV_ERR_USAGE,
     {"VALIDATE_SCHEMA"}},
    {"negative seconds",
     C,
     {NULL},
     {"--idle-exit", "-1"},
     EV_ERR_USAGE,
     {"idle-exit", "'-1'"}},
    {"NaN seconds",
     C,
     {NULL},
     {"--idle-exit", "nan"},
     EV_ERR_USAGE,
     {"idle-exit", "nan"}},
    {"inf seconds",
     P,
     {NULL},
     {"--flush-timeout", "inf"},
     EV_ERR_USAGE,
     {"flush-timeout", "inf"}},
    {"infinity seconds",
     P,
     {NULL},
     {"--flush-timeout", "infinity"},
     EV_ERR_USAGE,
     {"flush-timeout"}},
    {"hex seconds",
     C,
     {NULL},
     {"--idle-exit", "0x10"},
     EV_ERR_USAGE,
     {"idle-exit", "0x10"}},
    {"exponent seconds",
     P,
     {NULL},
     {"--rate", "1e3"},
     EV_ERR_USAGE,
     {"rate", "1e3"}},
    {"two decimal points",
     C,
     {NULL},
     {"--idle-exit", "1.2.3"},
     EV_ERR_USAGE,
     {"idle-exit"}},
    {"seconds overflow",
     C,
     {NULL},
     {"--idle-exit", "1e999"},
     EV_ERR_USAGE,
     {"idle-exit"}},
    {"seconds with a unit",
     C,
     {NULL},
     {"--idle-exit", "5s"},
     EV_ERR_USAGE,
     {"idle-exit"}},
    {"negative seconds env",
     C,
     {"IDLE_EXIT_SECONDS=-5"},
     {NULL},
     EV_ERR_USAGE,
     {"IDLE_EXIT_SECONDS"}},
    {"negative rate", P, {NULL}, {"-r", "-1"}, EV_ERR_USAGE, {"rate"}},
    {"NaN rate env",
     P,
     {"PUBLISH_RATE=NaN"},
     {NULL},
     EV_ERR_USAGE,
     {"PUBLISH_RATE"}},
    {"max-payload-bytes 0",
     C,
     {NULL},
     {"--max-payload-bytes", "0"},
     EV_ERR_USAGE,
     {"max-payload-bytes", "1 or more"}},
    {"MAX_PAYLOAD_BYTES 0",
     C,
     {"MAX_PAYLOAD_BYTES=0"},
     {NULL},
     EV_ERR_USAGE,
     {"MAX_PAYLOAD_BYTES"}},
    {"positional argument",
     P,
     {NULL},
     {"-c", "1", "extra"},
     EV_ERR_USAGE,
     {"unexpected argument", "extra"}},
    {"positional argument first",
     C,
     {NULL},
     {"extra", "-t", "x"},
     EV_ERR_USAGE,
     {"unexpected argument", "extra"}},
    {"--group to the producer",
     P,
     {NULL},
     {"--group", "g"},
     EV_ERR_USAGE,
     {"--group"}},
    {"-g to the producer", P, {NULL}, {"-g", "g"}, EV_ERR_USAGE, {"-g"}},
    {"--no-schema to the producer",
     P,
     {NULL},
     {"--no-schema"},
     EV_ERR_USAGE,
     {"--no-schema"}},
    {"--count to the consumer",
     C,
     {NULL},
     {"--count", "1"},
     EV_ERR_USAGE,
     {"--count"}},
    {"-i to the consumer", C, {NULL}, {"-i", "f"}, EV_ERR_USAGE, {"-i"}},
    {"--help answers despite a bad env",
     P,
     {"EVENT_COUNT=x"},
     {"--help"},
     EV_OK,
     {"action=help"}},
    {"--version answers despite a bad env",
     C,
     {"IDLE_EXIT_SECONDS=x"},
     {"-V"},
     EV_OK,
     {"action=version"}},
    {"bad env still fails a run",
     C,
     {"IDLE_EXIT_SECONDS=x"},
     {"-t", "x"},
     EV_ERR_USAGE,
     {"IDLE_EXIT_SECONDS", "'x'"}},
    {"bad env fails even when its flag is given",
     P,
     {"EVENT_COUNT=x"},
     {"-c", "5"},
     EV_ERR_USAGE,
     {"EVENT_COUNT"}},

    /* Pub/Sub. */
    {"pubsub defaults",
     C,
     {"TRANSPORT=pubsub", "GCP_PROJECT_ID=my-project"},
     {NULL},
     EV_OK,
     {"transport=pubsub", "project=my-project", "pubsub_topic=log-events-topic",
      "subscription=log-events-subscription", "credentials=(null)",
      "emulator_host=(null)", "pubsub_endpoint=https://pubsub.googleapis.com",
      "create=false", "ordering=false", "request_timeout=30", "ack_deadline=60",
      "pull_max=1000"}},
    {"pubsub consumer pulls default",
     C,
     {NULL},
     {NULL},
     EV_OK,
     {"transport=kafka", "pulls=4"}},
    {"pubsub flags",
     P,
     {NULL},
     {"--transport", "pubsub", "--project", "p-123456", "--pubsub-topic", "t1",
      "--subscription", "s1", "--credentials", "/k.json", "--create",
      "--ordering", "--emulator-host", "127.0.0.1:8085"},
     EV_OK,
     {"transport=pubsub", "project=p-123456", "pubsub_topic=t1",
      "subscription=s1", "credentials=/k.json", "create=true", "ordering=true",
      "emulator_host=127.0.0.1:8085"}},
    {"pubsub env",
     C,
     {"GCP_PUBSUB_SUBSCRIPTION=s-env", "PUBSUB_CREATE=yes",
      "PUBSUB_ACK_DEADLINE=10", "PUBSUB_MAX_MESSAGES=5"},
     {"--transport=pubsub", "--project=p-env", "--pulls", "2",
      "--request-timeout", "2.5", "--pubsub-endpoint", "http://h:1"},
     EV_OK,
     {"subscription=s-env", "create=true", "ack_deadline=10", "pull_max=5",
      "pulls=2", "request_timeout=2.5", "pubsub_endpoint=http://h:1"}},
    {"--create takes no value",
     P,
     {NULL},
     {"--create=yes"},
     EV_ERR_USAGE,
     {"--create", "takes no value"}},
    {"PUBSUB_CREATE=false stays false",
     P,
     {"PUBSUB_CREATE=false"},
     {NULL},
     EV_OK,
     {"create=false"}},
    {"PUBSUB_ORDERING bad",
     P,
     {"PUBSUB_ORDERING=maybe"},
     {NULL},
     EV_ERR_USAGE,
     {"PUBSUB_ORDERING", "'maybe'", "true or false"}},
    {"transport unknown",
     P,
     {NULL},
     {"--transport", "rabbitmq"},
     EV_ERR_USAGE,
     {"--transport", "'rabbitmq'", "kafka or pubsub"}},
    {"env transport unknown",
     C,
     {"TRANSPORT=Kafka"},
     {NULL},
     EV_ERR_USAGE,
     {"TRANSPORT", "'Kafka'"}},
    {"pubsub without project",
     P,
     {"TRANSPORT=pubsub"},
     {NULL},
     EV_ERR_USAGE,
     {"GCP_PROJECT_ID", "required"}},
    {"kafka needs no project",
     P,
     {"TRANSPORT=kafka"},
     {NULL},
     EV_OK,
     {"transport=kafka", "project=(null)"}},
    {"validate threads from the environment",
     C,
     {"VALIDATE_THREADS=3"},
     {NULL},
     EV_OK,
     {"validate_threads=3"}},
    {"validate threads, the most",
     C,
     {NULL},
     {"--validate-threads", "64"},
     EV_OK,
     {"validate_threads=64"}},
    {"validate threads over 64",
     C,
     {NULL},
     {"--validate-threads", "65"},
     EV_ERR_USAGE,
     {"--validate-threads", "'65'", "0 to 64"}},
    {"producer has no --validate-threads",
     P,
     {NULL},
     {"--validate-threads", "2"},
     EV_ERR_USAGE,
     {"unknown option", "--validate-threads"}},
    {"ack deadline under 10",
     C,
     {"TRANSPORT=pubsub", "GCP_PROJECT_ID=my-project"},
     {"--ack-deadline", "9"},
     EV_ERR_USAGE,
     {"--ack-deadline", "'9'", "10 to 600"}},
    {"ack deadline over 600",
     P,
     {"TRANSPORT=pubsub", "GCP_PROJECT_ID=my-project",
      "PUBSUB_ACK_DEADLINE=601"},
     {NULL},
     EV_ERR_USAGE,
     {"PUBSUB_ACK_DEADLINE", "'601'"}},
    {"pull max over 1000",
     C,
     {"TRANSPORT=pubsub", "GCP_PROJECT_ID=my-project"},
     {"--pull-max", "1001"},
     EV_ERR_USAGE,
     {"--pull-max", "1 to 1000"}},
    {"pulls 0",
     C,
     {NULL},
     {"--pulls", "0"},
     EV_ERR_USAGE,
     {"--pulls", "'0'", "1 or more"}},
    {"request timeout 0",
     P,
     {"TRANSPORT=pubsub", "GCP_PROJECT_ID=my-project"},
     {"--request-timeout", "0"},
     EV_ERR_USAGE,
     {"--request-timeout", "more than 0"}},
    {"empty project",
     P,
     {NULL},
     {"--project", ""},
     EV_ERR_USAGE,
     {"--project"}},
    {"pull options are the consumer's",
     P,
     {NULL},
     {"--pulls", "2"},
     EV_ERR_USAGE,
     {"unknown option", "--pulls"}},

    /* event-verify: a topic by default, a file with --source. */
    {"verify defaults",
     V,
     {NULL},
     {NULL},
     EV_OK,
     {"action=run", "brokers=localhost:9092", "topic=log-events",
      "source=(null)", "pg_dsn=(null)", "pg_table=log_events",
      "pg_route_by=(null)", "max_payload_bytes=1048576", "schema=true",
      "log_level=info", "transport=kafka", "props="}},
    {"verify kafka flags",
     V,
     {NULL},
     {"-b", "k1:9092", "-t", "events", "--no-schema", "--max-payload-bytes",
      "100", "-X", "fetch.wait.max.ms=10"},
     EV_OK,
     {"brokers=k1:9092", "topic=events", "source=(null)", "schema=false",
      "max_payload_bytes=100", "props=fetch.wait.max.ms=10"}},
    {"verify pg flags",
     V,
     {NULL},
     {"--pg-dsn", "dbname=x", "--pg-table", "ev_2", "--pg-route-by",
      "event_type", "--log-level", "debug"},
     EV_OK,
     {"pg_dsn=dbname=x", "pg_table=ev_2", "pg_route_by=event_type",
      "log_level=debug"}},
    {"verify source flag",
     V,
     {NULL},
     {"--source", "events.ndjson"},
     EV_OK,
     {"source=events.ndjson", "topic=log-events"}},
    {"verify source stdin", V, {NULL}, {"--source", "-"}, EV_OK, {"source=-"}},
    {"verify env",
     V,
     {"VERIFY_SOURCE=env.ndjson", "PG_TABLE=env_table", "PG_DSN=dbname=env",
      "KAFKA_TOPIC=t-env"},
     {NULL},
     EV_OK,
     {"source=env.ndjson", "pg_table=env_table", "pg_dsn=dbname=env",
      "topic=t-env"}},
    {"verify flag over env source",
     V,
     {"VERIFY_SOURCE=env.ndjson"},
     {"--source", "flag.ndjson"},
     EV_OK,
     {"source=flag.ndjson"}},
    {"verify empty source",
     V,
     {NULL},
     {"--source", ""},
     EV_ERR_USAGE,
     {"--source", "non-empty"}},
    {"verify bad table",
     V,
     {NULL},
     {"--pg-table", "Events"},
     EV_ERR_USAGE,
     {"--pg-table", "'Events'", "at most 40 bytes"}},
    {"verify env bad table",
     V,
     {"PG_TABLE=1table"},
     {NULL},
     EV_ERR_USAGE,
     {"PG_TABLE", "'1table'"}},
    {"verify has no group",
     V,
     {NULL},
     {"--group", "g"},
     EV_ERR_USAGE,
     {"unknown option", "--group"}},
    {"verify has no sink",
     V,
     {NULL},
     {"--sink", "postgres"},
     EV_ERR_USAGE,
     {"unknown option", "--sink"}},
    {"verify has no transport",
     V,
     {NULL},
     {"--transport", "pubsub"},
     EV_ERR_USAGE,
     {"unknown option", "--transport"}},
    {"verify has no idle exit",
     V,
     {NULL},
     {"--idle-exit", "3"},
     EV_ERR_USAGE,
     {"unknown option", "--idle-exit"}},
    {"verify ignores the consumer's env",
     V,
     {"KAFKA_GROUP_ID=g", "SINKS=bogus", "TRANSPORT=pubsub"},
     {NULL},
     EV_OK,
     {"transport=kafka", "source=(null)"}},
    {"source is verify's",
     C,
     {NULL},
     {"--source", "f"},
     EV_ERR_USAGE,
     {"unknown option", "--source"}},
    {"source is not the producer's",
     P,
     {NULL},
     {"--source", "f"},
     EV_ERR_USAGE,
     {"unknown option", "--source"}},
    {"verify help", V, {NULL}, {"--help"}, EV_OK, {"action=help"}},
    {"verify version", V, {NULL}, {"-V"}, EV_OK, {"action=version"}},
};

static const char *level_name(enum ev_log_level level)
{
        switch (level) {
        case EV_LOG_DEBUG:
                return "debug";
        case EV_LOG_INFO:
                return "info";
        case EV_LOG_WARN:
                return "warn";
        case EV_LOG_ERROR:
                return "error";
        }
        return "?";
}

static const char *action_name(enum ev_config_action action)
{
        switch (action) {
        case EV_CONFIG_RUN:
                return "run";
        case EV_CONFIG_HELP:
                return "help";
        case EV_CONFIG_VERSION:
                return "version";
        }
        return "?";
}

static const char *const sink_names[] = {"stdout", "postgres", "firestore",
                                         NULL};
static const char *const redact_names[] = {"phone", "email", NULL};

/* The set bits of bits, by their names (bit i is names[i]), comma-separated;
 * "none" when no bit is set. */
static void names(char *buf, size_t size, unsigned bits,
                  const char *const *names)
{
        size_t i, o = 0;

        snprintf(buf, size, "none");
        for (i = 0; names[i] && o < size; i++) {
                if (bits & (1u << i))
                        o += (size_t)snprintf(buf + o, size - o, "%s%s",
                                              o ? "," : "", names[i]);
        }
}

static const char *str_or_null(const char *s)
{
        return s ? s : "(null)";
}

/* Prints cfg's field named field into buf; false for an unknown name. */
static bool render(const struct ev_config *cfg, const char *field, char *buf,
                   size_t size)
{
        size_t i, o = 0;

        if (!strcmp(field, "action"))
                snprintf(buf, size, "%s", action_name(cfg->action));
        else if (!strcmp(field, "brokers"))
                snprintf(buf, size, "%s", cfg->brokers);
        else if (!strcmp(field, "topic"))
                snprintf(buf, size, "%s", cfg->topic);
        else if (!strcmp(field, "group"))
                snprintf(buf, size, "%s", cfg->group);
        else if (!strcmp(field, "instance_id"))
                snprintf(buf, size, "%s", str_or_null(cfg->instance_id));
        else if (!strcmp(field, "input"))
                snprintf(buf, size, "%s", cfg->input ? cfg->input : "(null)");
        else if (!strcmp(field, "log_level"))
                snprintf(buf, size, "%s", level_name(cfg->log_level));
        else if (!strcmp(field, "count"))
                snprintf(buf, size, "%lu", cfg->count);
        else if (!strcmp(field, "malformed"))
                snprintf(buf, size, "%lu", cfg->malformed);
        else if (!strcmp(field, "rate"))
                snprintf(buf, size, "%g", cfg->rate);
        else if (!strcmp(field, "flush_timeout"))
                snprintf(buf, size, "%g", cfg->flush_timeout);
        else if (!strcmp(field, "max_payload_bytes"))
                snprintf(buf, size, "%zu", cfg->rules.max_payload_bytes);
        else if (!strcmp(field, "schema"))
                snprintf(buf, size, "%s", cfg->rules.schema ? "true" : "false");
        else if (!strcmp(field, "max_messages"))
                snprintf(buf, size, "%lu", cfg->max_messages);
        else if (!strcmp(field, "idle_exit"))
                snprintf(buf, size, "%g", cfg->idle_exit);
        else if (!strcmp(field, "log_format"))
                snprintf(buf, size, "%s",
                         cfg->log_format == EV_LOG_JSON ? "json" : "text");
        else if (!strcmp(field, "stats_interval"))
                snprintf(buf, size, "%g", cfg->stats_interval);
        else if (!strcmp(field, "late_threshold"))
                snprintf(buf, size, "%g", cfg->late_threshold);
        else if (!strcmp(field, "validate_threads"))
                snprintf(buf, size, "%lu", cfg->validate_threads);
        else if (!strcmp(field, "metrics_addr"))
                snprintf(buf, size, "%s", str_or_null(cfg->metrics_addr));
        else if (!strcmp(field, "dlq_topic"))
                snprintf(buf, size, "%s", str_or_null(cfg->dlq_topic));
        else if (!strcmp(field, "dlq_timeout"))
                snprintf(buf, size, "%g", cfg->dlq_timeout);
        else if (!strcmp(field, "transport"))
                snprintf(buf, size, "%s",
                         cfg->transport == EV_TRANSPORT_PUBSUB ? "pubsub"
                                                               : "kafka");
        else if (!strcmp(field, "project"))
                snprintf(buf, size, "%s", str_or_null(cfg->project));
        else if (!strcmp(field, "pubsub_topic"))
                snprintf(buf, size, "%s", cfg->pubsub_topic);
        else if (!strcmp(field, "subscription"))
                snprintf(buf, size, "%s", cfg->subscription);
        else if (!strcmp(field, "credentials"))
                snprintf(buf, size, "%s", str_or_null(cfg->credentials));
        else if (!strcmp(field, "emulator_host"))
                snprintf(buf, size, "%s", str_or_null(cfg->emulator_host));
        else if (!strcmp(field, "pubsub_endpoint"))
                snprintf(buf, size, "%s", cfg->pubsub_endpoint);
        else if (!strcmp(field, "create"))
                snprintf(buf, size, "%s", cfg->create ? "true" : "false");
        else if (!strcmp(field, "ordering"))
                snprintf(buf, size, "%s", cfg->ordering ? "true" : "false");
        else if (!strcmp(field, "request_timeout"))
                snprintf(buf, size, "%g", cfg->request_timeout);
        else if (!strcmp(field, "ack_deadline"))
                snprintf(buf, size, "%lu", cfg->ack_deadline);
        else if (!strcmp(field, "pull_max"))
                snprintf(buf, size, "%lu", cfg->pull_max);
        else if (!strcmp(field, "pulls"))
                snprintf(buf, size, "%lu", cfg->pulls);
        else if (!strcmp(field, "source"))
                snprintf(buf, size, "%s", str_or_null(cfg->source));
        else if (!strcmp(field, "pg_dsn"))
                snprintf(buf, size, "%s", str_or_null(cfg->pg_dsn));
        else if (!strcmp(field, "pg_table"))
                snprintf(buf, size, "%s", str_or_null(cfg->pg_table));
        else if (!strcmp(field, "pg_route_by"))
                snprintf(buf, size, "%s", str_or_null(cfg->pg_route_by));
        else if (!strcmp(field, "sinks"))
                names(buf, size, cfg->sinks, sink_names);
        else if (!strcmp(field, "redact"))
                names(buf, size, cfg->redact, redact_names);
        else if (!strcmp(field, "firestore_emulator_host"))
                snprintf(buf, size, "%s",
                         str_or_null(cfg->firestore_emulator_host));
        else if (!strcmp(field, "firestore_endpoint"))
                snprintf(buf, size, "%s", cfg->firestore_endpoint);
        else if (!strcmp(field, "firestore_database"))
                snprintf(buf, size, "%s", cfg->firestore_database);
        else if (!strcmp(field, "firestore_default_tenant"))
                snprintf(buf, size, "%s", cfg->firestore_default_tenant);
        else if (!strcmp(field, "listen"))
                snprintf(buf, size, "%s", cfg->listen);
        else if (!strcmp(field, "max_body_bytes"))
                snprintf(buf, size, "%zu", cfg->max_body_bytes);
        else if (!strcmp(field, "api_keys"))
                snprintf(buf, size, "%s", str_or_null(cfg->api_keys));
        else if (!strcmp(field, "publish_timeout"))
                snprintf(buf, size, "%g", cfg->publish_timeout);
        else if (!strcmp(field, "max_conns"))
                snprintf(buf, size, "%lu", cfg->max_conns);
        else if (!strcmp(field, "sink_timeout"))
                snprintf(buf, size, "%g", cfg->sink_timeout);
        else if (!strcmp(field, "props")) {
                buf[0] = '\0';
                for (i = 0; i < cfg->props_cnt && o < size; i++)
                        o += (size_t)snprintf(buf + o, size - o, "%s%s=%s",
                                              i ? "|" : "", cfg->props[i].key,
                                              cfg->props[i].value);
        } else
                return false;
        return true;
}

static void clear_env(void)
{
        size_t i;

        for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
                assert_int_equal(unsetenv(env_names[i]), 0);
}

static void set_env(const char *const *env)
{
        size_t i;

        for (i = 0; i < MAX_ENV && env[i]; i++) {
                const char *eq = strchr(env[i], '=');
                char name[64];

                assert_non_null(eq);
                assert_true((size_t)(eq - env[i]) < sizeof(name));
                memcpy(name, env[i], (size_t)(eq - env[i]));
                name[eq - env[i]] = '\0';
                assert_int_equal(setenv(name, eq + 1, 1), 0);
        }
}

/* Checks each "field=value" of c->expect against cfg. */
static bool check_fields(const struct config_case *c,
                         const struct ev_config *cfg)
{
        bool ok = true;
        size_t i;

        for (i = 0; i < MAX_EXPECT && c->expect[i]; i++) {
                const char *eq = strchr(c->expect[i], '=');
                char field[32], got[256];

                assert_non_null(eq);
                assert_true((size_t)(eq - c->expect[i]) < sizeof(field));
                memcpy(field, c->expect[i], (size_t)(eq - c->expect[i]));
                field[eq - c->expect[i]] = '\0';
                assert_true(render(cfg, field, got, sizeof(got)));
                if (strcmp(got, eq + 1)) {
                        print_error("case '%s': %s is '%s', expected '%s'\n",
                                    c->name, field, got, eq + 1);
                        ok = false;
                }
        }
        return ok;
}

static bool check_config(const struct config_case *c)
{
        char *argv[MAX_ARGS + 2];
        char *saved[MAX_ARGS + 2];
        char errstr[256] = "";
        struct ev_config cfg;
        enum ev_err err;
        bool ok = true;
        int argc = 0, i;

        clear_env();
        set_env(c->env);
        argv[argc++] = strdup("event-test");
        for (i = 0; i < MAX_ARGS && c->args[i]; i++)
                argv[argc++] = strdup(c->args[i]);
        argv[argc] = NULL;
        for (i = 0; i <= argc; i++) {
                assert_true(argv[i] || i == argc);
                saved[i] = argv[i];
        }

        err =
            ev_config_parse(&cfg, c->role, argc, argv, errstr, sizeof(errstr));
        if (err != c->err) {
                print_error("case '%s': error %d (%s), expected %d\n", c->name,
                            (int)err, errstr, (int)c->err);
                ok = false;
        } else if (err == EV_OK) {
                ok = check_fields(c, &cfg);
        } else {
                for (i = 0; i < MAX_EXPECT && c->expect[i]; i++) {
                        if (!strstr(errstr, c->expect[i])) {
                                print_error("case '%s': errstr '%s' lacks "
                                            "'%s'\n",
                                            c->name, errstr, c->expect[i]);
                                ok = false;
                        }
                }
                if (strchr(errstr, '\n')) {
                        print_error("case '%s': errstr is not one line\n",
                                    c->name);
                        ok = false;
                }
        }
        if (memcmp(argv, saved, sizeof(argv[0]) * (size_t)(argc + 1))) {
                print_error("case '%s': argv was reordered\n", c->name);
                ok = false;
        }
        ev_config_free(&cfg);
        for (i = 0; i < argc; i++)
                free(saved[i]);
        clear_env();
        return ok;
}

static void test_config_table(void **state)
{
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++) {
                if (!check_config(&config_cases[i]))
                        failed++;
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* Parsing twice in one process gives the same answer: getopt state is
 * reset, and the second parse starts from a clean cfg. */
static void test_config_parse_twice(void **state)
{
        char a0[] = "event-test", a1[] = "-X", a2[] = "k=v", a3[] = "-c",
             a4[] = "5";
        char *argv[] = {a0, a1, a2, a3, a4, NULL};
        char errstr[256];
        struct ev_config cfg;
        int round;

        (void)state;
        clear_env();
        for (round = 0; round < 2; round++) {
                assert_int_equal(ev_config_parse(&cfg, EV_ROLE_PRODUCER, 5,
                                                 argv, errstr, sizeof(errstr)),
                                 EV_OK);
                assert_int_equal(cfg.count, 5);
                assert_int_equal(cfg.props_cnt, 1);
                assert_string_equal(cfg.props[0].key, "k");
                assert_string_equal(cfg.props[0].value, "v");
                ev_config_free(&cfg);
                assert_null(cfg.props);
                assert_int_equal(cfg.props_cnt, 0);
        }
}

/* ev_config_free on a zeroed cfg, and twice on the same one. */
static void test_config_free_zeroed(void **state)
{
        struct ev_config cfg;

        (void)state;
        memset(&cfg, 0, sizeof(cfg));
        ev_config_free(&cfg);
        ev_config_free(&cfg);
}

/* --help lists every setting of the role, and only those. */
static void test_config_usage(void **state)
{
        static const struct {
                enum ev_role role;
                const char *text;
                bool present;
        } cases[] = {
            {P, "--brokers", true},   {P, "KAFKA_BOOTSTRAP_SERVERS", true},
            {P, "--count", true},     {P, "EVENT_COUNT", true},
            {P, "-X", true},          {P, "--help", true},
            {P, "--group", false},    {P, "--no-schema", false},
            {C, "--group", true},     {C, "KAFKA_GROUP_ID", true},
            {C, "--no-schema", true}, {C, "VALIDATE_SCHEMA", true},
            {C, "1048576", true},     {C, "--count", false},
            {C, "--version", true},   {C, "log-events-consumer", true},
            {C, "instance-id", true}, {C, "KAFKA_GROUP_INSTANCE_ID", true},
            {P, "INSTANCE", false},   {P, "instance-id", false},
            {V, "--source", true},    {V, "VERIFY_SOURCE", true},
            {V, "--topic", true},     {V, "--brokers", true},
            {V, "--pg-table", true},  {V, "--pg-route-by", true},
            {V, "--pg-dsn", true},    {V, "--no-schema", true},
            {V, "-X", true},          {V, "Exit status", true},
            {V, "--group", false},    {V, "SINKS", false},
            {V, "--count", false},    {V, "--transport", false},
            {V, "--late", false},     {C, "--source", false},
            {P, "--source", false},   {C, "Exit status", false},
        };
        char buf[8192];
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                FILE *fp = fmemopen(buf, sizeof(buf), "w");

                assert_non_null(fp);
                ev_config_usage(cases[i].role, "event-test", fp);
                assert_int_equal(fclose(fp), 0);
                if (!strstr(buf, cases[i].text) != !cases[i].present) {
                        print_error("usage for role %d: '%s' %s\n",
                                    (int)cases[i].role, cases[i].text,
                                    cases[i].present ? "missing" : "present");
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_config_table),
            cmocka_unit_test(test_config_parse_twice),
            cmocka_unit_test(test_config_free_zeroed),
            cmocka_unit_test(test_config_usage),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Settings for every binary: each one from an environment variable,
 * overridden by its command-line flag, checked before anything starts.
 * One table in config.c drives parsing, validation and --help alike.
 */
#ifndef EV_CONFIG_H
#define EV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "event.h"
#include "log.h"

/* The most threads --validate-threads may ask for. */
#define EV_CONFIG_MAX_VALIDATE_THREADS 64

enum ev_role {
        EV_ROLE_PRODUCER = 1 << 0,
        EV_ROLE_CONSUMER = 1 << 1,
        EV_ROLE_VERIFY = 1 << 2,  /* event-verify */
        EV_ROLE_GATEWAY = 1 << 3, /* event-gateway */
};

enum ev_transport {
        EV_TRANSPORT_KAFKA,
        EV_TRANSPORT_PUBSUB,
};

/* The outputs --sink names, as bits of ev_config.sinks. */
enum ev_config_sink {
        EV_CONFIG_SINK_STDOUT = 1 << 0,
        EV_CONFIG_SINK_POSTGRES = 1 << 1,
        EV_CONFIG_SINK_FIRESTORE = 1 << 2,
};

/* What --redact replaces in valid events, as bits of ev_config.redact. */
enum ev_config_redact {
        EV_CONFIG_REDACT_PHONE = 1 << 0,
        EV_CONFIG_REDACT_EMAIL = 1 << 1,
};

enum ev_config_action {
        EV_CONFIG_RUN,
        EV_CONFIG_HELP,    /* --help: print ev_config_usage(), exit 0 */
        EV_CONFIG_VERSION, /* --version: print the version, exit 0 */
};

/* A librdkafka property from -X key=value. Both strings are owned by the
 * config. */
struct ev_config_prop {
        char *key;
        char *value;
};

/* String settings are borrowed from argv, the environment or static
 * defaults, and stay valid for the life of the process. */
struct ev_config {
        enum ev_role role;
        enum ev_config_action action;

        enum ev_transport transport;
        const char *brokers;
        const char *topic;
        enum ev_log_level log_level;
        enum ev_log_format log_format;
        double stats_interval;    /* seconds, 0 = no periodic stats line */
        const char *metrics_addr; /* NULL: no HTTP endpoint */

        /* Pub/Sub (producer, consumer and gateway unless noted) */
        const char *project;         /* required for pubsub */
        const char *pubsub_topic;    /* topic id, not its path */
        const char *subscription;    /* subscription id */
        const char *credentials;     /* NULL: Application Default Credentials */
        const char *emulator_host;   /* NULL: the real service */
        const char *pubsub_endpoint; /* base URL, without a trailing '/' */
        bool create;                 /* create the topic and subscription */
        bool ordering;               /* ordering keys; ordered subscription */
        double request_timeout;      /* seconds, for every request but pulls */
        unsigned long ack_deadline;  /* seconds, 10 to 600 */
        unsigned long pull_max;      /* consumer: maxMessages, 1 to 1000 */
        unsigned long pulls;         /* consumer: pulls in flight */

        /* gateway (also the Pub/Sub and Kafka publishing settings) */
        const char *listen;      /* "HOST:PORT" */
        size_t max_body_bytes;   /* larger request bodies get 413 */
        const char *api_keys;    /* NULL: no Authorization required */
        double publish_timeout;  /* seconds a request waits for the broker */
        unsigned long max_conns; /* connections served at once */

        /* producer */
        unsigned long count;
        unsigned long malformed;
        double rate;          /* messages per second, 0 = unlimited */
        const char *input;    /* NULL: generate; "-": stdin */
        double flush_timeout; /* seconds */

        /* consumer */
        const char *group;
        const char *instance_id; /* NULL: a dynamic group member */
        struct ev_event_rules rules;
        unsigned long max_messages; /* 0 = unlimited */
        double idle_exit;           /* seconds, 0 = never */
        double late_threshold;      /* seconds */
        /* 0: one per CPU; at most EV_CONFIG_MAX_VALIDATE_THREADS */
        unsigned long validate_threads;
        const char *dlq_topic; /* NULL: no dead-letter topic */
        double dlq_timeout;    /* seconds a dead letter is retried */
        unsigned sinks;        /* enum ev_config_sink bits, not 0 */
        bool sinks_flagged;    /* --sink seen: later ones add */
        double sink_timeout;   /* seconds a sink's RETRY is retried */
        const char *pg_dsn;    /* NULL: libpq's PG* variables alone */
        const char *pg_table;
        const char *pg_route_by; /* NULL: every event to pg_table */
        unsigned redact;         /* enum ev_config_redact bits, 0: none */
        /* firestore sink (also project and credentials) */
        const char *firestore_emulator_host; /* NULL: the real service */
        const char *firestore_endpoint;      /* base URL, no trailing '/' */
        const char *firestore_database;      /* "(default)" */
        const char *firestore_default_tenant;

        /* verify (also brokers, topic, rules and pg_*) */
        const char *source; /* NULL: read topic; "-": stdin */

        struct ev_config_prop *props; /* -X, in command-line order */
        size_t props_cnt;
};

/*
 * Fills cfg for role from the environment, then argv (getopt_long; argv is
 * not modified). On EV_ERR_USAGE errstr holds one line naming the setting
 * and the expected form. cfg must be released with ev_config_free() on
 * every return.
 */
enum ev_err ev_config_parse(struct ev_config *cfg, enum ev_role role, int argc,
                            char **argv, char *errstr, size_t errstr_size);

/*
 * The start of every program's main(): parses the settings (ev_config_parse),
 * logs a usage error, answers --help and --version (printing version, a
 * whole line, on stdout) and applies the log level. Returns true when the
 * program should go on and run; false when it should exit with
 * ev_err_exit_code(*err) (EV_OK after --help and --version). cfg must be
 * released with ev_config_free() either way.
 */
bool ev_config_load(struct ev_config *cfg, enum ev_role role, const char *prog,
                    const char *version, int argc, char **argv,
                    enum ev_err *err);

/* Writes the --help text for role, every setting with its flag,
 * environment variable and default. */
void ev_config_usage(enum ev_role role, const char *prog, FILE *fp);

/* Frees what cfg owns (the -X properties). Safe on a zeroed cfg. */
void ev_config_free(struct ev_config *cfg);

#endif

/*
 * Settings parsing for every binary. Owns the -X property copies; every
 * other string stays borrowed from argv, the environment or the defaults
 * below. Knows nothing of librdkafka: -X properties are checked where they
 * are applied.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgrow.h"

#define BOTH (EV_ROLE_PRODUCER | EV_ROLE_CONSUMER)
/* event-gateway publishes as the producer does. */
#define GATEWAY EV_ROLE_GATEWAY
#define ALL     (BOTH | EV_ROLE_VERIFY | EV_ROLE_GATEWAY)
/* event-verify reads a topic and the tables the consumer wrote. */
#define VERIFY EV_ROLE_VERIFY
/* getopt_long codes for settings that have no short flag. */
#define LONG_ONLY_BASE 256

enum kind {
        K_STRING,    /* non-empty text */
        K_COUNT,     /* whole number >= 0 */
        K_SIZE,      /* whole number >= 1 */
        K_SECONDS,   /* decimal number >= 0 */
        K_LEVEL,     /* log level name */
        K_BOOL,      /* true/false; the flag form takes no argument and
                      * sets false (--no-schema) */
        K_FLAG,      /* true/false; the flag form takes no argument and
                      * sets true (--create) */
        K_TRANSPORT, /* kafka or pubsub */
        K_LOGFMT,    /* text or json */
        K_SINKS,     /* comma-separated stdout|postgres; the flag is
                      * repeatable, adding to the earlier ones */
        K_TABLE,     /* a PostgreSQL table name (ev_pgrow_table_ok) */
        K_REDACT,    /* comma-separated phone|email, or none */
};

struct setting {
        const char *flag;
        int short_flag; /* 0: none */
        const char *env;
        enum kind kind;
        unsigned roles;
        size_t offset;
        const char *def; /* NULL: unset */
        const char *metavar;
        const char *help;
};

#define FIELD(f) offsetof(struct ev_config, f)

static const struct setting settings[] = {
    {"transport", 0, "TRANSPORT", K_TRANSPORT, BOTH | GATEWAY, FIELD(transport),
     "kafka", "kafka|pubsub",
     "the broker: Apache Kafka or Google Cloud Pub/Sub"},
    {"brokers", 'b', "KAFKA_BOOTSTRAP_SERVERS", K_STRING,
     BOTH | VERIFY | GATEWAY, FIELD(brokers), "localhost:9092",
     "HOST:PORT[,...]", "Kafka bootstrap servers"},
    {"topic", 't', "KAFKA_TOPIC", K_STRING, BOTH | VERIFY | GATEWAY,
     FIELD(topic), "log-events", "TOPIC", "topic to publish to / consume from"},
    {"source", 0, "VERIFY_SOURCE", K_STRING, VERIFY, FIELD(source), NULL,
     "FILE",
     "compare the events of FILE (NDJSON, - for stdin) instead of reading "
     "--topic"},
    {"group", 'g', "KAFKA_GROUP_ID", K_STRING, EV_ROLE_CONSUMER, FIELD(group),
     "log-events-consumer", "GROUP", "consumer group id"},
    {"instance-id", 0, "KAFKA_GROUP_INSTANCE_ID", K_STRING, EV_ROLE_CONSUMER,
     FIELD(instance_id), NULL, "ID",
     "static group membership (group.instance.id): stable across restarts, "
     "never shared by two live consumers"},
    {"count", 'c', "EVENT_COUNT", K_COUNT, EV_ROLE_PRODUCER, FIELD(count), "10",
     "N", "valid events to generate"},
    {"malformed", 'm', "MALFORMED_COUNT", K_COUNT, EV_ROLE_PRODUCER,
     FIELD(malformed), "3", "M", "malformed payloads to generate"},
    {"rate", 'r', "PUBLISH_RATE", K_SECONDS, EV_ROLE_PRODUCER, FIELD(rate), "0",
     "R", "messages per second, 0 for no limit"},
    {"input", 'i', "INPUT_FILE", K_STRING, EV_ROLE_PRODUCER, FIELD(input), NULL,
     "FILE", "publish each line of FILE (- for stdin) instead of generating"},
    {"flush-timeout", 0, "FLUSH_TIMEOUT", K_SECONDS, EV_ROLE_PRODUCER | GATEWAY,
     FIELD(flush_timeout), "30", "SECONDS",
     "how long to wait for outstanding deliveries at exit"},
    {"max-payload-bytes", 0, "MAX_PAYLOAD_BYTES", K_SIZE,
     EV_ROLE_CONSUMER | VERIFY, FIELD(rules.max_payload_bytes), "1048576",
     "BYTES", "larger payloads are toxic (too_large), checked before parsing"},
    {"no-schema", 0, "VALIDATE_SCHEMA", K_BOOL, EV_ROLE_CONSUMER | VERIFY,
     FIELD(rules.schema), "true", NULL,
     "accept any JSON object, skipping the field checks"},
    {"max-messages", 'n', "MAX_MESSAGES", K_COUNT, EV_ROLE_CONSUMER,
     FIELD(max_messages), "0", "N", "exit 0 after N messages, 0 for no limit"},
    {"idle-exit", 0, "IDLE_EXIT_SECONDS", K_SECONDS, EV_ROLE_CONSUMER,
     FIELD(idle_exit), "0", "SECONDS",
     "exit 0 after SECONDS with no new message (counted only while "
     "holding partitions), 0 for never"},
    {"validate-threads", 0, "VALIDATE_THREADS", K_COUNT, EV_ROLE_CONSUMER,
     FIELD(validate_threads), "0", "N",
     "threads that parse and validate each batch, the reading one included "
     "(1 to 64; 0: one per CPU, at most 8)"},
    {"late-threshold", 0, "LATE_THRESHOLD", K_SECONDS, EV_ROLE_CONSUMER,
     FIELD(late_threshold), "30", "SECONDS",
     "count a valid event as late when its timestamp is older than this on "
     "arrival"},
    {"dlq-topic", 0, "DLQ_TOPIC", K_STRING, EV_ROLE_CONSUMER, FIELD(dlq_topic),
     NULL, "TOPIC",
     "republish each toxic message there, with headers saying why, before "
     "acknowledging it (a Pub/Sub topic id with --transport pubsub)"},
    {"dlq-timeout", 0, "DLQ_TIMEOUT", K_SECONDS, EV_ROLE_CONSUMER,
     FIELD(dlq_timeout), "60", "SECONDS",
     "how long a dead letter is retried, nothing acknowledged meanwhile, "
     "before the consumer stops (exit 69)"},
    {"sink", 0, "SINKS", K_SINKS, EV_ROLE_CONSUMER, FIELD(sinks), "stdout",
     "stdout|postgres|firestore",
     "where valid events go (repeatable, or a comma-separated list): each "
     "batch is acknowledged once every sink has it"},
    {"sink-timeout", 0, "SINK_TIMEOUT", K_SECONDS, EV_ROLE_CONSUMER,
     FIELD(sink_timeout), "120", "SECONDS",
     "how long a sink that failed for a passing reason (database down) is "
     "retried, nothing acknowledged meanwhile, before the consumer stops "
     "(exit 69)"},
    {"pg-dsn", 0, "PG_DSN", K_STRING, EV_ROLE_CONSUMER | VERIFY, FIELD(pg_dsn),
     NULL, "DSN",
     "postgres sink: libpq connection string or URI (the PG* variables "
     "fill in what it leaves out)"},
    {"pg-table", 0, "PG_TABLE", K_TABLE, EV_ROLE_CONSUMER | VERIFY,
     FIELD(pg_table), "log_events", "TABLE",
     "postgres sink: the events table ([a-z_][a-z0-9_]*, at most 40 "
     "bytes), created if missing"},
    {"pg-route-by", 0, "PG_ROUTE_BY", K_STRING, EV_ROLE_CONSUMER | VERIFY,
     FIELD(pg_route_by), NULL, "FIELD",
     "postgres sink: write each event to the table TABLE_<its FIELD>, "
     "created on first sight (e.g. event_type)"},
    {"redact", 0, "REDACT", K_REDACT, EV_ROLE_CONSUMER, FIELD(redact), "none",
     "phone,email",
     "replace phone numbers and/or e-mail addresses in valid events' string "
     "values with [REDACTED], before every sink"},
    {"firestore-emulator-host", 0, "FIRESTORE_EMULATOR_HOST", K_STRING,
     EV_ROLE_CONSUMER, FIELD(firestore_emulator_host), NULL, "HOST:PORT",
     "firestore sink: use the emulator there (plain HTTP, no "
     "authentication)"},
    {"firestore-endpoint", 0, "FIRESTORE_ENDPOINT", K_STRING, EV_ROLE_CONSUMER,
     FIELD(firestore_endpoint), "https://firestore.googleapis.com", "URL",
     "firestore sink: API endpoint"},
    {"firestore-database", 0, "FIRESTORE_DATABASE", K_STRING, EV_ROLE_CONSUMER,
     FIELD(firestore_database), "(default)", "DATABASE",
     "firestore sink: database id"},
    {"firestore-default-tenant", 0, "FIRESTORE_DEFAULT_TENANT", K_STRING,
     EV_ROLE_CONSUMER, FIELD(firestore_default_tenant), "default", "TENANT",
     "firestore sink: the tenant of events without a tenant_id"},
    {"listen", 'l', "GATEWAY_LISTEN", K_STRING, GATEWAY, FIELD(listen),
     "0.0.0.0:8080", "HOST:PORT",
     "serve POST /ingest, /healthz, /readyz and /metrics there"},
    {"max-body-bytes", 0, "MAX_BODY_BYTES", K_SIZE, GATEWAY,
     FIELD(max_body_bytes), "1048576", "BYTES",
     "larger request bodies are refused with 413"},
    {"api-keys", 0, "API_KEYS_FILE", K_STRING, GATEWAY, FIELD(api_keys), NULL,
     "FILE",
     "lines of 'KEY TENANT_ID': every request then needs Authorization: "
     "Bearer KEY, and writes only KEY's tenant"},
    {"publish-timeout", 0, "PUBLISH_TIMEOUT", K_SECONDS, GATEWAY,
     FIELD(publish_timeout), "10", "SECONDS",
     "how long a request waits for the broker's confirmation before 503"},
    {"max-connections", 0, "GATEWAY_MAX_CONNECTIONS", K_SIZE, GATEWAY,
     FIELD(max_conns), "1024", "N", "connections served at once"},
    {"log-level", 0, "LOG_LEVEL", K_LEVEL, ALL, FIELD(log_level), "info",
     "LEVEL", "debug, info, warn or error"},
    {"log-format", 0, "LOG_FORMAT", K_LOGFMT, ALL, FIELD(log_format), "text",
     "text|json", "log records as text lines or as one JSON object a line"},
    {"stats-interval", 0, "STATS_INTERVAL", K_SECONDS, BOTH,
     FIELD(stats_interval), "0", "SECONDS",
     "log the counts so far every SECONDS, 0 for never"},
    {"metrics-addr", 0, "METRICS_ADDR", K_STRING, BOTH, FIELD(metrics_addr),
     NULL, "HOST:PORT",
     "serve /metrics (Prometheus), /healthz and /readyz there"},
    {"project", 0, "GCP_PROJECT_ID", K_STRING, BOTH | GATEWAY, FIELD(project),
     NULL, "PROJECT", "Pub/Sub: Google Cloud project id (required for pubsub)"},
    {"pubsub-topic", 0, "GCP_PUBSUB_TOPIC", K_STRING, BOTH | GATEWAY,
     FIELD(pubsub_topic), "log-events-topic", "TOPIC",
     "Pub/Sub: topic to publish to (and the one --create subscribes to)"},
    {"subscription", 0, "GCP_PUBSUB_SUBSCRIPTION", K_STRING, BOTH | GATEWAY,
     FIELD(subscription), "log-events-subscription", "SUBSCRIPTION",
     "Pub/Sub: subscription to pull from (and to create with --create)"},
    {"credentials", 0, "CREDENTIALS_PATH", K_STRING, BOTH | GATEWAY,
     FIELD(credentials), NULL, "FILE",
     "Pub/Sub: service account key or authorized_user file (unset: "
     "Application Default Credentials)"},
    {"emulator-host", 0, "PUBSUB_EMULATOR_HOST", K_STRING, BOTH | GATEWAY,
     FIELD(emulator_host), NULL, "HOST:PORT",
     "Pub/Sub: use the emulator there (plain HTTP, no authentication)"},
    {"pubsub-endpoint", 0, "PUBSUB_ENDPOINT", K_STRING, BOTH | GATEWAY,
     FIELD(pubsub_endpoint), "https://pubsub.googleapis.com", "URL",
     "Pub/Sub: API endpoint (a regional or private one)"},
    {"create", 0, "PUBSUB_CREATE", K_FLAG, BOTH | GATEWAY, FIELD(create),
     "false", NULL, "Pub/Sub: create the topic and subscription if missing"},
    {"ordering", 0, "PUBSUB_ORDERING", K_FLAG, BOTH | GATEWAY, FIELD(ordering),
     "false", NULL,
     "Pub/Sub: ordering key from service_name (producer) or the tenant "
     "(gateway); ordered subscription (--create)"},
    {"request-timeout", 0, "PUBSUB_TIMEOUT", K_SECONDS, BOTH | GATEWAY,
     FIELD(request_timeout), "30", "SECONDS",
     "Pub/Sub, and the firestore sink: timeout of every request"},
    {"ack-deadline", 0, "PUBSUB_ACK_DEADLINE", K_COUNT, BOTH | GATEWAY,
     FIELD(ack_deadline), "60", "SECONDS",
     "Pub/Sub: ack deadline, 10 to 600 (of a created subscription; kept "
     "extended for messages in hand)"},
    {"pull-max", 0, "PUBSUB_MAX_MESSAGES", K_SIZE, EV_ROLE_CONSUMER,
     FIELD(pull_max), "1000", "N",
     "Pub/Sub: most messages per pull, 1 to 1000"},
    {"pulls", 0, "PUBSUB_PULLS", K_SIZE, EV_ROLE_CONSUMER, FIELD(pulls), "4",
     "N", "Pub/Sub: pulls kept in flight"},
};

#define SETTINGS_CNT (sizeof(settings) / sizeof(settings[0]))

static const char *const expected[] = {
    [K_STRING] = "a non-empty value",
    [K_COUNT] = "a whole number, 0 or more",
    [K_SIZE] = "a whole number, 1 or more",
    [K_SECONDS] = "a number, 0 or more (decimals allowed)",
    [K_LEVEL] = "one of debug, info, warn, error",
    [K_BOOL] = "true or false",
    [K_FLAG] = "true or false",
    [K_TRANSPORT] = "kafka or pubsub",
    [K_LOGFMT] = "text or json",
    [K_SINKS] = ("stdout, postgres or firestore, or a comma-separated list "
                 "of them"),
    /* In parentheses: clang takes two literals in a row in an array for
     * a missing comma. */
    [K_TABLE] = ("a table name of [a-z0-9_], at most 40 bytes, not "
                 "starting with a digit"),
    [K_REDACT] = "phone, email or both comma-separated, or none",
};

static bool parse_ulong(const char *s, unsigned long *val)
{
        char *end;

        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        *val = strtoul(s, &end, 10);
        return !errno && !*end;
}

static bool parse_bool(const char *s, bool *val)
{
        if (!strcasecmp(s, "true") || !strcmp(s, "1") ||
            !strcasecmp(s, "yes")) {
                *val = true;
                return true;
        }
        if (!strcasecmp(s, "false") || !strcmp(s, "0") ||
            !strcasecmp(s, "no")) {
                *val = false;
                return true;
        }
        return false;
}

/* A --sink or SINKS list into cfg->sinks: the environment's list, or the
 * flags' lists added up. */
static bool parse_sinks(struct ev_config *cfg, const char *value, bool flag)
{
        unsigned sinks = 0;
        const char *p = value;

        do {
                size_t len = strcspn(p, ",");

                if (len == 6 && !strncmp(p, "stdout", len))
                        sinks |= EV_CONFIG_SINK_STDOUT;
                else if (len == 8 && !strncmp(p, "postgres", len))
                        sinks |= EV_CONFIG_SINK_POSTGRES;
                else if (len == 9 && !strncmp(p, "firestore", len))
                        sinks |= EV_CONFIG_SINK_FIRESTORE;
                else
                        return false;
                p += len;
        } while (*p++ == ',');
        /* The default, then the environment, then the first flag, each
         * replace the list; later flags add to it. */
        if (!flag || !cfg->sinks_flagged)
                cfg->sinks = 0;
        cfg->sinks_flagged = flag;
        cfg->sinks |= sinks;
        return true;
}

/* A --redact list into *redact; "none" alone clears it. */
static bool parse_redact(const char *value, unsigned *redact)
{
        unsigned bits = 0;
        const char *p = value;

        if (!strcmp(value, "none")) {
                *redact = 0;
                return true;
        }
        do {
                size_t len = strcspn(p, ",");

                if (len == 5 && !strncmp(p, "phone", len))
                        bits |= EV_CONFIG_REDACT_PHONE;
                else if (len == 5 && !strncmp(p, "email", len))
                        bits |= EV_CONFIG_REDACT_EMAIL;
                else
                        return false;
                p += len;
        } while (*p++ == ',');
        *redact = bits;
        return true;
}

/* Checks value against the setting's kind and stores it in cfg. source
 * names where the value came from, for the error line. */
static enum ev_err apply(struct ev_config *cfg, const struct setting *s,
                         const char *value, const char *source, char *errstr,
                         size_t errstr_size)
{
        char *field = (char *)cfg + s->offset;
        unsigned long ul;
        double d;
        char *end;
        bool ok;

        switch (s->kind) {
        case K_STRING:
                ok = *value != '\0';
                if (ok)
                        *(const char **)field = value;
                break;
        case K_COUNT:
                ok = parse_ulong(value, &ul);
                if (ok)
                        *(unsigned long *)field = ul;
                break;
        case K_SIZE:
                ok = parse_ulong(value, &ul) && ul >= 1;
                if (ok)
                        *(size_t *)field = ul;
                break;
        case K_SECONDS:
                errno = 0;
                /* Plain decimals only: strtod alone would also take
                 * "0x10", "1e3" and "inf". */
                d = strtod(value, &end);
                ok = *value >= '0' && *value <= '9' &&
                     strspn(value, "0123456789.") == strlen(value) && !*end &&
                     !errno;
                if (ok)
                        *(double *)field = d;
                break;
        case K_LEVEL:
                ok = ev_log_level_parse(value, (enum ev_log_level *)field);
                break;
        case K_BOOL:
        case K_FLAG:
                ok = parse_bool(value, (bool *)field);
                break;
        case K_LOGFMT:
                ok = ev_log_format_parse(value, (enum ev_log_format *)field);
                break;
        case K_TRANSPORT:
                ok = !strcmp(value, "kafka") || !strcmp(value, "pubsub");
                if (ok)
                        *(enum ev_transport *)field = *value == 'k'
                                                          ? EV_TRANSPORT_KAFKA
                                                          : EV_TRANSPORT_PUBSUB;
                break;
        case K_SINKS:
                ok = parse_sinks(cfg, value, *source == '-');
                break;
        case K_REDACT:
                ok = parse_redact(value, (unsigned *)field);
                break;
        case K_TABLE:
                ok = ev_pgrow_table_ok(value);
                if (ok)
                        *(const char **)field = value;
                break;
        default:
                ok = false;
        }
        if (ok)
                return EV_OK;
        snprintf(errstr, errstr_size, "invalid value '%s' for %s: expected %s",
                 value, source, expected[s->kind]);
        return EV_ERR_USAGE;
}

static enum ev_err add_prop(struct ev_config *cfg, const char *arg,
                            char *errstr, size_t errstr_size)
{
        const char *eq = strchr(arg, '=');
        struct ev_config_prop *props;
        struct ev_config_prop *p;

        if (!eq || eq == arg) {
                snprintf(errstr, errstr_size,
                         "invalid value '%s' for -X: expected key=value, "
                         "e.g. -X security.protocol=SSL",
                         arg);
                return EV_ERR_USAGE;
        }
        props = realloc(cfg->props, (cfg->props_cnt + 1) * sizeof(*props));
        if (!props)
                return EV_ERR_NOMEM;
        cfg->props = props;
        p = &props[cfg->props_cnt];
        p->key = strndup(arg, (size_t)(eq - arg));
        p->value = strdup(eq + 1);
        if (!p->key || !p->value) {
                free(p->key);
                free(p->value);
                return EV_ERR_NOMEM;
        }
        cfg->props_cnt++;
        return EV_OK;
}

static int option_code(size_t i)
{
        return settings[i].short_flag ? settings[i].short_flag
                                      : LONG_ONLY_BASE + (int)i;
}

/* Builds the getopt_long tables for role into longopts/shortopts. */
static void build_options(enum ev_role role, struct option *longopts,
                          char *shortopts)
{
        size_t i, n = 0;
        char *sp = shortopts;

        sp += sprintf(sp, "+:hVX:");
        for (i = 0; i < SETTINGS_CNT; i++) {
                const struct setting *s = &settings[i];

                if (!(s->roles & role))
                        continue;
                longopts[n].name = s->flag;
                longopts[n].has_arg = s->kind == K_BOOL || s->kind == K_FLAG
                                          ? no_argument
                                          : required_argument;
                longopts[n].flag = NULL;
                longopts[n].val = option_code(i);
                n++;
                if (s->short_flag) {
                        *sp++ = (char)s->short_flag;
                        if (s->kind != K_BOOL && s->kind != K_FLAG)
                                *sp++ = ':';
                }
        }
        *sp = '\0';
        longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
        longopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
        longopts[n] = (struct option){NULL, 0, NULL, 0};
}

static enum ev_err parse_env(struct ev_config *cfg, char *errstr,
                             size_t errstr_size)
{
        enum ev_err err;
        size_t i;

        for (i = 0; i < SETTINGS_CNT; i++) {
                const struct setting *s = &settings[i];
                const char *value;

                if (!(s->roles & cfg->role))
                        continue;
                if (s->def) {
                        err = apply(cfg, s, s->def, "default", errstr,
                                    errstr_size);
                        if (err)
                                return err;
                }
                value = getenv(s->env);
                if (!value)
                        continue;
                err = apply(cfg, s, value, s->env, errstr, errstr_size);
                if (err)
                        return err;
        }
        return EV_OK;
}

/* Explains getopt_long's '?' for arg, the argument it stopped at. */
static void unknown_option(const char *arg, char *errstr, size_t errstr_size)
{
        const char *eq = strchr(arg, '=');

        if (!strncmp(arg, "--", 2) && eq && optopt)
                snprintf(errstr, errstr_size,
                         "option '%.*s' takes no value (see --help)",
                         (int)(eq - arg), arg);
        /* An unknown short option inside a group ("-zq") leaves optind on
         * its group: name it by optopt. */
        else if (optopt > 0 && optopt < LONG_ONLY_BASE && strncmp(arg, "--", 2))
                snprintf(errstr, errstr_size,
                         "unknown option '-%c' (see --help)", optopt);
        else
                snprintf(errstr, errstr_size,
                         "unknown option '%s' (see --help)", arg);
}

/* The setting behind getopt code c, or NULL. */
static const struct setting *setting_for(int c)
{
        size_t i;

        for (i = 0; i < SETTINGS_CNT; i++) {
                if (option_code(i) == c)
                        return &settings[i];
        }
        return NULL;
}

/* Rules that span settings or ranges no kind expresses; checked once all
 * of them are read. */
static enum ev_err check_pubsub(const struct ev_config *cfg, char *errstr,
                                size_t errstr_size)
{
        if (cfg->transport != EV_TRANSPORT_PUBSUB)
                return EV_OK;
        if (!cfg->project) {
                snprintf(errstr, errstr_size,
                         "GCP_PROJECT_ID (or --project) is required with "
                         "--transport pubsub");
                return EV_ERR_USAGE;
        }
        if (cfg->ack_deadline < 10 || cfg->ack_deadline > 600) {
                snprintf(errstr, errstr_size,
                         "invalid value '%lu' for PUBSUB_ACK_DEADLINE/"
                         "--ack-deadline: expected 10 to 600 seconds",
                         cfg->ack_deadline);
                return EV_ERR_USAGE;
        }
        if (cfg->role == EV_ROLE_CONSUMER && cfg->pull_max > 1000) {
                snprintf(errstr, errstr_size,
                         "invalid value '%lu' for PUBSUB_MAX_MESSAGES/"
                         "--pull-max: expected 1 to 1000",
                         cfg->pull_max);
                return EV_ERR_USAGE;
        }
        if (cfg->request_timeout <= 0) {
                snprintf(errstr, errstr_size,
                         "invalid value '0' for PUBSUB_TIMEOUT/"
                         "--request-timeout: expected more than 0 seconds");
                return EV_ERR_USAGE;
        }
        return EV_OK;
}

/* The firestore sink names its documents by project, whatever the
 * transport. */
static enum ev_err check_firestore(const struct ev_config *cfg, char *errstr,
                                   size_t errstr_size)
{
        if (cfg->role != EV_ROLE_CONSUMER ||
            !(cfg->sinks & EV_CONFIG_SINK_FIRESTORE) || cfg->project)
                return EV_OK;
        snprintf(errstr, errstr_size,
                 "GCP_PROJECT_ID (or --project) is required with --sink "
                 "firestore");
        return EV_ERR_USAGE;
}

enum ev_err ev_config_parse(struct ev_config *cfg, enum ev_role role, int argc,
                            char **argv, char *errstr, size_t errstr_size)
{
        struct option longopts[SETTINGS_CNT + 3];
        char shortopts[3 * SETTINGS_CNT + 8];
        const char *value;
        char source[64];
        enum ev_err err, env_err;
        int c;

        memset(cfg, 0, sizeof(*cfg));
        cfg->role = role;
        /* A bad variable is reported after the flags are read, so that
         * --help and --version still answer. */
        env_err = parse_env(cfg, errstr, errstr_size);
        build_options(role, longopts, shortopts);
        /* 0, not 1: glibc then resets its internal state too, so parsing
         * can run more than once per process (the unit tests do). */
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
                const struct setting *s;

                switch (c) {
                case 'h':
                        cfg->action = EV_CONFIG_HELP;
                        return EV_OK;
                case 'V':
                        cfg->action = EV_CONFIG_VERSION;
                        return EV_OK;
                case 'X':
                        err = add_prop(cfg, optarg, errstr, errstr_size);
                        if (err)
                                return err;
                        continue;
                case ':':
                        snprintf(errstr, errstr_size,
                                 "option '%s' needs a value (see --help)",
                                 argv[optind - 1]);
                        return EV_ERR_USAGE;
                case '?':
                        unknown_option(argv[optind - 1], errstr, errstr_size);
                        return EV_ERR_USAGE;
                }
                s = setting_for(c);
                if (s->short_flag)
                        snprintf(source, sizeof(source), "-%c/--%s",
                                 s->short_flag, s->flag);
                else
                        snprintf(source, sizeof(source), "--%s", s->flag);
                value = optarg;
                if (s->kind == K_BOOL)
                        value = "false";
                else if (s->kind == K_FLAG)
                        value = "true";
                err = apply(cfg, s, value, source, errstr, errstr_size);
                if (err)
                        return err;
        }
        if (env_err)
                return env_err;
        if (optind < argc) {
                snprintf(errstr, errstr_size,
                         "unexpected argument '%s' (see --help)", argv[optind]);
                return EV_ERR_USAGE;
        }
        if (cfg->validate_threads > EV_CONFIG_MAX_VALIDATE_THREADS) {
                snprintf(errstr, errstr_size,
                         "invalid value '%lu' for VALIDATE_THREADS/"
                         "--validate-threads: expected 0 to %d",
                         cfg->validate_threads, EV_CONFIG_MAX_VALIDATE_THREADS);
                return EV_ERR_USAGE;
        }
        err = check_pubsub(cfg, errstr, errstr_size);
        if (err)
                return err;
        return check_firestore(cfg, errstr, errstr_size);
}

bool ev_config_load(struct ev_config *cfg, enum ev_role role, const char *prog,
                    const char *version, int argc, char **argv,
                    enum ev_err *err)
{
        char errstr[512];

        *err = ev_config_parse(cfg, role, argc, argv, errstr, sizeof(errstr));
        if (*err) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                return false;
        }
        if (cfg->action == EV_CONFIG_HELP) {
                ev_config_usage(role, prog, stdout);
                return false;
        }
        if (cfg->action == EV_CONFIG_VERSION) {
                printf("%s\n", version);
                return false;
        }
        ev_log_set_level(cfg->log_level);
        ev_log_set_format(cfg->log_format);
        return true;
}

/* What event-verify checks and how it exits: the settings alone do not
 * say. */
static const char verify_help[] =
    "\nReads the source (the topic from its beginning to its end at the "
    "start,\nwithout a consumer group; or the --source file, each line an "
    "event) the\nway event-consumer --sink postgres does, and compares the "
    "last version\nof each event_id (a tombstone deletes it) with the rows "
    "of TABLE and its\nrouted tables: missing, extra, stale (another "
    "payload, is_valid or\ntable) and undeleted rows are counted, the first "
    "10 of each named on\nstderr. A file names no positions: its events "
    "without an event_id are\ncounted as unkeyed and not compared, and "
    "rows named by their own\nposition are not extra.\n"
    "\nExit status: 0 the tables match, 1 they differ, 64 bad usage, 66 the"
    "\n--source file cannot be read, 69 Kafka or PostgreSQL unreachable, "
    "no\nsuch topic, or an SQL error, 78 a -X property rejected.\n";

void ev_config_usage(enum ev_role role, const char *prog, FILE *fp)
{
        size_t i;

        fprintf(fp,
                "Usage: %s [OPTION]...\n\nEach setting is read from its "
                "environment variable; its flag overrides it.\n\n",
                prog);
        for (i = 0; i < SETTINGS_CNT; i++) {
                const struct setting *s = &settings[i];
                char flag[64];

                if (!(s->roles & role))
                        continue;
                if (s->short_flag)
                        snprintf(flag, sizeof(flag), "-%c, --%s %s",
                                 s->short_flag, s->flag,
                                 s->metavar ? s->metavar : "");
                else
                        snprintf(flag, sizeof(flag), "    --%s %s", s->flag,
                                 s->metavar ? s->metavar : "");
                fprintf(fp, "  %-34s %s\n  %-34s [%s%s%s]\n", flag, s->help, "",
                        s->env, s->def ? ", default " : "",
                        s->def ? s->def : "");
        }
        fprintf(fp, "  %-34s %s\n  %-34s %s\n  %-34s %s\n", "-X KEY=VALUE",
                "Kafka: any librdkafka property (repeatable), "
                "e.g. -X security.protocol=SSL",
                "-h, --help", "print this help and exit", "-V, --version",
                "print the version and exit");
        if (role == EV_ROLE_VERIFY)
                fputs(verify_help, fp);
}

void ev_config_free(struct ev_config *cfg)
{
        size_t i;

        for (i = 0; i < cfg->props_cnt; i++) {
                free(cfg->props[i].key);
                free(cfg->props[i].value);
        }
        free(cfg->props);
        cfg->props = NULL;
        cfg->props_cnt = 0;
}

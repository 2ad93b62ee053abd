/*
 * Metrics storage and the Prometheus text format. Counters and histogram
 * buckets are C11 atomics, so that the hot path takes no lock; the lag
 * table, written once a second from librdkafka's statistics, has a mutex.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Partitions whose lag is kept; more are left out of the exposition. */
#define LAG_MAX 1024
/* HTTP statuses are counted from 100 up to below this. */
#define STATUS_END 600

struct histogram_def {
        const char *name;
        const char *help;
        const double *bounds; /* upper bounds, ascending; +Inf implied */
        size_t cnt;
};

static const double batch_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                      0.025,  0.05,  0.1,    0.25,  0.5,
                                      1,      2.5,   5,      10,    30};
/* Fine at the low end: the gateway's goal is a p99 under 10 ms. */
static const double gateway_bounds[] = {
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025,
    0.05,   0.1,   0.25,  0.5,   1,     2.5,    5,    10,    30};
static const double age_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
                                    0.5,   1,    2.5,   5,    10,   30,
                                    60,    300,  900,   3600, 86400};

#define LEN(a)      (sizeof(a) / sizeof((a)[0]))
#define BUCKETS_MAX 24

static const struct histogram_def histograms[EV_H__CNT] = {
    [EV_H_BATCH_SECONDS] = {"event_ingest_batch_processing_seconds",
                            "Time to process one batch: validate, write, "
                            "flush, confirm dead letters, acknowledge.",
                            batch_bounds, LEN(batch_bounds)},
    [EV_H_EVENT_AGE] = {"event_ingest_event_age_seconds",
                        "End-to-end latency of valid events: arrival time "
                        "minus the event's timestamp.",
                        age_bounds, LEN(age_bounds)},
    [EV_H_GATEWAY_SECONDS] = {"event_ingest_gateway_request_seconds",
                              "Time from a request's arrival to its answer "
                              "(a 202 once the broker confirmed), whatever "
                              "its status (every path but /metrics, "
                              "/healthz and /readyz).",
                              gateway_bounds, LEN(gateway_bounds)},
};

struct histogram {
        atomic_ulong buckets[BUCKETS_MAX + 1]; /* not cumulative; last +Inf */
        atomic_ullong sum_us;
};

struct lag_entry {
        char topic[256];
        int32_t partition;
        int64_t lag;
        bool seen; /* named in the current round */
};

static struct {
        enum ev_role role;
        const char *version;
        const char *libraries;
        atomic_ulong counters[EV_C__CNT];
        atomic_ulong toxic[EV_REASON__CNT];
        atomic_ulong statuses[STATUS_END]; /* gateway answers, by status */
        struct histogram hist[EV_H__CNT];
        pthread_mutex_t lag_lock;
        struct lag_entry lag[LAG_MAX];
        size_t lag_cnt;
        atomic_llong last_beat_ms;
        atomic_bool serving;
        atomic_bool connected;
} m = {.lag_lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t monotonic_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ev_metrics_init(enum ev_role role, const char *version,
                     const char *libraries)
{
        m.role = role;
        m.version = version;
        m.libraries = libraries;
        atomic_store(&m.last_beat_ms, monotonic_ms());
}

void ev_metrics_add(enum ev_counter c, unsigned long n)
{
        atomic_fetch_add_explicit(&m.counters[c], n, memory_order_relaxed);
}

void ev_metrics_toxic(enum ev_reason reason, unsigned long n)
{
        if (reason > EV_REASON_NONE && reason < EV_REASON__CNT)
                atomic_fetch_add_explicit(&m.toxic[reason], n,
                                          memory_order_relaxed);
}

void ev_metrics_observe(enum ev_histogram h, double seconds)
{
        const struct histogram_def *def = &histograms[h];
        size_t i = 0;

        if (!(seconds > 0))
                seconds = 0;
        while (i < def->cnt && seconds > def->bounds[i])
                i++;
        atomic_fetch_add_explicit(&m.hist[h].buckets[i], 1,
                                  memory_order_relaxed);
        /* Microseconds, capped at about 31 years per observation. */
        atomic_fetch_add_explicit(&m.hist[h].sum_us,
                                  seconds < 1e15 / 1e6
                                      ? (unsigned long long)(seconds * 1e6)
                                      : (unsigned long long)1e15,
                                  memory_order_relaxed);
}

void ev_metrics_request(unsigned status)
{
        if (status >= 100 && status < STATUS_END)
                atomic_fetch_add_explicit(&m.statuses[status], 1,
                                          memory_order_relaxed);
}

void ev_metrics_lag_begin(void)
{
        size_t i;

        pthread_mutex_lock(&m.lag_lock);
        for (i = 0; i < m.lag_cnt; i++)
                m.lag[i].seen = false;
        pthread_mutex_unlock(&m.lag_lock);
}

void ev_metrics_lag_set(const char *topic, int32_t partition, int64_t lag)
{
        size_t i;

        pthread_mutex_lock(&m.lag_lock);
        for (i = 0; i < m.lag_cnt; i++) {
                if (m.lag[i].partition == partition &&
                    !strcmp(m.lag[i].topic, topic))
                        break;
        }
        if (i == m.lag_cnt && m.lag_cnt < LAG_MAX &&
            strlen(topic) < sizeof(m.lag[i].topic)) {
                snprintf(m.lag[i].topic, sizeof(m.lag[i].topic), "%s", topic);
                m.lag[i].partition = partition;
                m.lag_cnt++;
        }
        if (i < m.lag_cnt) {
                m.lag[i].lag = lag;
                m.lag[i].seen = true;
        }
        pthread_mutex_unlock(&m.lag_lock);
}

void ev_metrics_lag_end(void)
{
        size_t i, kept = 0;

        pthread_mutex_lock(&m.lag_lock);
        for (i = 0; i < m.lag_cnt; i++) {
                if (m.lag[i].seen)
                        m.lag[kept++] = m.lag[i];
        }
        m.lag_cnt = kept;
        pthread_mutex_unlock(&m.lag_lock);
}

void ev_health_beat(void)
{
        atomic_store_explicit(&m.last_beat_ms, monotonic_ms(),
                              memory_order_relaxed);
}

bool ev_health_alive(double max_age_s)
{
        int64_t age = monotonic_ms() - atomic_load(&m.last_beat_ms);

        return age <= (int64_t)(max_age_s * 1000);
}

void ev_health_set_serving(bool serving)
{
        atomic_store(&m.serving, serving);
}

void ev_health_set_connected(bool connected)
{
        atomic_store(&m.connected, connected);
}

bool ev_health_ready(void)
{
        return atomic_load(&m.serving) && atomic_load(&m.connected);
}

/* A growing text buffer; a failed allocation sticks, and render reports
 * it once at the end. */
struct text {
        char *data;
        size_t len, cap;
        bool failed;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (t->failed)
                return;
        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        t->failed = true;
                        return;
                }
                if ((size_t)n < t->cap - t->len)
                        break;
                {
                        size_t cap = (t->cap + (size_t)n + 1) * 2;
                        char *grown = realloc(t->data, cap);

                        if (!grown) {
                                t->failed = true;
                                return;
                        }
                        t->data = grown;
                        t->cap = cap;
                }
        }
        t->len += (size_t)n;
}

/* A label value with \, " and line feeds escaped, as the format wants. */
static void put_label_value(struct text *t, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\')
                        put(t, "\\\\");
                else if (*s == '"')
                        put(t, "\\\"");
                else if (*s == '\n')
                        put(t, "\\n");
                else
                        put(t, "%c", *s);
        }
}

static void header(struct text *t, const char *name, const char *type,
                   const char *help)
{
        put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned long counter(enum ev_counter c)
{
        return atomic_load_explicit(&m.counters[c], memory_order_relaxed);
}

static void simple(struct text *t, const char *name, const char *help,
                   enum ev_counter c)
{
        header(t, name, "counter", help);
        put(t, "%s %lu\n", name, counter(c));
}

static void render_histogram(struct text *t, enum ev_histogram h)
{
        const struct histogram_def *def = &histograms[h];
        unsigned long counts[BUCKETS_MAX + 1], total = 0;
        size_t i;

        /* Read once, then summed: the buckets and the count agree even
         * while observations arrive. */
        for (i = 0; i <= def->cnt; i++)
                counts[i] = atomic_load_explicit(&m.hist[h].buckets[i],
                                                 memory_order_relaxed);
        header(t, def->name, "histogram", def->help);
        for (i = 0; i <= def->cnt; i++) {
                total += counts[i];
                if (i < def->cnt)
                        put(t, "%s_bucket{le=\"%g\"} %lu\n", def->name,
                            def->bounds[i], total);
                else
                        put(t, "%s_bucket{le=\"+Inf\"} %lu\n", def->name,
                            total);
        }
        put(t, "%s_sum %.6f\n%s_count %lu\n", def->name,
            (double)atomic_load(&m.hist[h].sum_us) / 1e6, def->name, total);
}

static void render_lag(struct text *t)
{
        size_t i;

        header(t, "event_ingest_consumer_lag_messages", "gauge",
               "Messages between the consumer's committed offset and the "
               "end of each assigned partition (librdkafka's consumer_lag; "
               "-1 while unknown).");
        pthread_mutex_lock(&m.lag_lock);
        for (i = 0; i < m.lag_cnt; i++) {
                put(t, "event_ingest_consumer_lag_messages{topic=\"");
                put_label_value(t, m.lag[i].topic);
                put(t, "\",partition=\"%d\"} %lld\n", (int)m.lag[i].partition,
                    (long long)m.lag[i].lag);
        }
        pthread_mutex_unlock(&m.lag_lock);
}

static void render_consumer(struct text *t)
{
        int r;

        header(t, "event_ingest_messages_consumed_total", "counter",
               "Messages consumed and acknowledged, by verdict.");
        put(t, "event_ingest_messages_consumed_total{result=\"valid\"} %lu\n",
            counter(EV_C_VALID));
        put(t, "event_ingest_messages_consumed_total{result=\"toxic\"} %lu\n",
            counter(EV_C_TOXIC));
        header(t, "event_ingest_toxic_messages_total", "counter",
               "Toxic messages, by reason.");
        for (r = EV_REASON_NONE + 1; r < EV_REASON__CNT; r++)
                put(t, "event_ingest_toxic_messages_total{reason=\"%s\"} %lu\n",
                    ev_reason_name((enum ev_reason)r),
                    atomic_load_explicit(&m.toxic[r], memory_order_relaxed));
        simple(t, "event_ingest_tombstones_total",
               "Tombstones (null values) consumed.", EV_C_TOMBSTONES);
        simple(t, "event_ingest_dead_lettered_total",
               "Toxic messages the dead-letter topic confirmed.",
               EV_C_DEAD_LETTERED);
        simple(t, "event_ingest_messages_acknowledged_total",
               "Messages acknowledged (Kafka: offsets stored for commit).",
               EV_C_ACKNOWLEDGED);
        simple(t, "event_ingest_commits_total",
               "Offset commits the broker accepted.", EV_C_COMMITS);
        simple(t, "event_ingest_commit_errors_total",
               "Offset commits that failed.", EV_C_COMMIT_ERRORS);
        simple(t, "event_ingest_late_events_total",
               "Valid events older than --late-threshold on arrival.",
               EV_C_LATE);
        simple(t, "event_ingest_sink_retries_total",
               "Batches a sink answered RETRY for (written again after a "
               "pause).",
               EV_C_SINK_RETRIES);
        simple(t, "event_ingest_sink_skipped_total",
               "Valid events a sink could not store (PostgreSQL: a NUL "
               "character), reported on stderr.",
               EV_C_SINK_SKIPPED);
        simple(t, "event_ingest_sink_rows_total",
               "Rows a database sink committed (upserts and deletes).",
               EV_C_SINK_ROWS);
        render_lag(t);
        render_histogram(t, EV_H_BATCH_SECONDS);
        render_histogram(t, EV_H_EVENT_AGE);
}

/* True for the statuses the gateway answers with: their series are there
 * from the start, so that a rate sees the first. */
static bool gateway_status(unsigned status)
{
        static const unsigned listed[] = {202, 400, 401, 403, 404,
                                          405, 413, 415, 500, 503};
        size_t i;

        for (i = 0; i < LEN(listed); i++) {
                if (listed[i] == status)
                        return true;
        }
        return false;
}

static void render_gateway(struct text *t)
{
        unsigned long n;
        unsigned s;

        header(t, "event_ingest_gateway_requests_total", "counter",
               "Requests answered, by HTTP status (every path but "
               "/metrics, /healthz and /readyz).");
        for (s = 100; s < STATUS_END; s++) {
                n = atomic_load_explicit(&m.statuses[s], memory_order_relaxed);
                if (n || gateway_status(s))
                        put(t,
                            "event_ingest_gateway_requests_total{status=\"%u\"}"
                            " "
                            "%lu\n",
                            s, n);
        }
        render_histogram(t, EV_H_GATEWAY_SECONDS);
        simple(t, "event_ingest_messages_produced_total",
               "Events the broker confirmed (each one a 202).", EV_C_PRODUCED);
}

static const char *program(void)
{
        if (m.role == EV_ROLE_CONSUMER)
                return "event-consumer";
        return m.role == EV_ROLE_GATEWAY ? "event-gateway" : "event-producer";
}

char *ev_metrics_render(size_t *len)
{
        struct text t = {malloc(8192), 0, 8192, false};
        /* Whose publisher the last two count. */
        const char *whose = m.role == EV_ROLE_GATEWAY
                                ? "the gateway"
                                : "producer, or the consumer's dead-letter "
                                  "topic";
        char help[160];

        if (!t.data)
                return NULL;
        header(&t, "event_ingest_build_info", "gauge",
               "Always 1; the labels say which build runs.");
        put(&t, "event_ingest_build_info{program=\"%s\",version=\"", program());
        put_label_value(&t, m.version ? m.version : "");
        put(&t, "\",libraries=\"");
        put_label_value(&t, m.libraries ? m.libraries : "");
        put(&t, "\"} 1\n");
        if (m.role == EV_ROLE_CONSUMER)
                render_consumer(&t);
        else if (m.role == EV_ROLE_GATEWAY)
                render_gateway(&t);
        else
                simple(&t, "event_ingest_messages_produced_total",
                       "Messages the broker confirmed.", EV_C_PRODUCED);
        snprintf(help, sizeof(help),
                 "Messages a publisher could not queue (%s).", whose);
        simple(&t, "event_ingest_publish_errors_total", help,
               EV_C_PUBLISH_ERRORS);
        snprintf(help, sizeof(help),
                 "Messages the broker did not confirm (%s).", whose);
        simple(&t, "event_ingest_delivery_failures_total", help,
               EV_C_DELIVERY_FAILED);
        if (t.failed) {
                free(t.data);
                return NULL;
        }
        *len = t.len;
        return t.data;
}

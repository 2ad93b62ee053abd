/*
 * Event generation for the default run and load tests. Owns only the
 * buffer inside struct ev_generator; every template is static.
 */
#include "generator.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct template
{
        const char *service;
        const char *level;
        const char *message;
};

static const struct template templates[] = {
    {"auth-service", "INFO", "User login succeeded"},
    {"payment-service", "INFO", "Payment authorised"},
    {"inventory-service", "DEBUG", "Stock level recalculated"},
    {"api-gateway", "WARN", "Upstream latency above 500 ms"},
    {"auth-service", "WARN", "Password attempt rate limited"},
    {"notification-service", "INFO", "Email queued for delivery"},
    {"payment-service", "ERROR", "Card issuer declined the charge"},
    {"search-service", "INFO", "Index refresh completed"},
    {"api-gateway", "ERROR", "Circuit breaker opened for orders"},
    {"inventory-service", "INFO", "Reservation released"},
    {"notification-service", "FATAL", "SMTP relay unreachable"},
    {"search-service", "DEBUG", "Query plan cached"},
};

#define TEMPLATES_CNT (sizeof(templates) / sizeof(templates[0]))

/* The first three are the seed scenario's; the rest show the other toxic
 * verdicts when more than three are asked for. */
static const char *const malformed[] = {
    "invalid non-JSON string",
    "{\"timestamp\": \"2026-11-22T10:15:30Z\", \"service_name\": "
    "\"auth-service\", \"level\": \"ERR",
    "just another bad payload",
    "{\"service_name\":\"billing-service\",\"level\":\"INFO\","
    "\"message\":\"no timestamp\"}",
    "{\"timestamp\":\"yesterday\",\"service_name\":\"billing-service\","
    "\"level\":\"INFO\",\"message\":\"bad time\"}",
    "{\"timestamp\":\"2026-11-22T10:15:30Z\",\"service_name\":"
    "\"billing-service\",\"level\":\"VERBOSE\",\"message\":\"bad level\"}",
    "[\"not\",\"an\",\"object\"]",
    "{\"timestamp\":\"2026-11-22T10:15:30Z\",\"service_name\":42,"
    "\"level\":\"INFO\",\"message\":\"wrong type\"}",
    "\x1b[31mterminal escape\x1b[0m\nforged: line",
};

#define MALFORMED_CNT (sizeof(malformed) / sizeof(malformed[0]))

void ev_generator_init(struct ev_generator *gen, unsigned long count,
                       unsigned long malformed_cnt)
{
        memset(gen, 0, sizeof(*gen));
        gen->count = count;
        gen->malformed = malformed_cnt;
}

size_t ev_generator_malformed_kinds(void)
{
        return MALFORMED_CNT;
}

static size_t make_event(struct ev_generator *gen, unsigned long i,
                         const struct template *t)
{
        struct timespec ts;
        struct tm tm;
        char when[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        /* Every string here is a template constant: no escaping needed. */
        return (size_t)snprintf(
            gen->buf, sizeof(gen->buf),
            "{\"timestamp\":\"%s.%03ldZ\",\"service_name\":\"%s\","
            "\"level\":\"%s\",\"message\":\"%s\",\"request_id\":"
            "\"req-%08lx\",\"host\":\"%s-%lu\",\"latency_ms\":%lu}",
            when, ts.tv_nsec / 1000000, t->service, t->level, t->message,
            i * 2654435761UL % 0xffffffffUL, t->service, i % 3,
            (i * 37) % 900 + 3);
}

bool ev_generator_next(struct ev_generator *gen, const char **payload,
                       size_t *len, const char **key, size_t *key_len)
{
        unsigned long i = gen->next;
        const struct template *t;

        if (i >= gen->count + gen->malformed)
                return false;
        gen->next++;
        if (i < gen->count) {
                /* A stride coprime to the table size walks every template
                 * before repeating, in an order that mixes services. */
                t = &templates[(i * 5) % TEMPLATES_CNT];
                *len = make_event(gen, i, t);
                *payload = gen->buf;
                *key = t->service;
                *key_len = strlen(t->service);
                return true;
        }
        *payload = malformed[(i - gen->count) % MALFORMED_CNT];
        *len = strlen(*payload);
        *key = NULL;
        *key_len = 0;
        return true;
}

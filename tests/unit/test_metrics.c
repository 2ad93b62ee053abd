/*
 * Unit tests for common/metrics: the exposition holds what was counted,
 * histogram buckets are cumulative and agree with their count, lag series
 * follow the assignment, label values are escaped, and health follows its
 * inputs. One process-wide registry: the tests run in order on it.
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
#include <time.h>

#include "metrics.h"

/* The value of the series line that starts with series (name and labels),
 * or -1 when there is none. */
static double value_of(const char *text, const char *series)
{
        const char *p = text;
        size_t n = strlen(series);

        while ((p = strstr(p, series))) {
                if ((p == text || p[-1] == '\n') && p[n] == ' ')
                        return atof(p + n + 1);
                p += n;
        }
        return -1;
}

static char *render(void)
{
        size_t len = 0;
        char *text = ev_metrics_render(&len);

        assert_non_null(text);
        assert_int_equal(strlen(text), len);
        assert_int_equal(text[len - 1], '\n');
        return text;
}

static void test_metrics_consumer(void **state)
{
        char *text;

        (void)state;
        ev_metrics_init(EV_ROLE_CONSUMER, "1.2.3", "lib \"x\" \\ 1\nz");
        ev_metrics_add(EV_C_VALID, 10);
        ev_metrics_add(EV_C_TOXIC, 3);
        ev_metrics_toxic(EV_REASON_NOT_JSON, 2);
        ev_metrics_toxic(EV_REASON_BAD_LEVEL, 1);
        ev_metrics_toxic(EV_REASON_NONE, 5);
        ev_metrics_add(EV_C_ACKNOWLEDGED, 13);
        ev_metrics_add(EV_C_COMMITS, 2);
        ev_metrics_observe(EV_H_BATCH_SECONDS, 0.0001);
        ev_metrics_observe(EV_H_BATCH_SECONDS, 0.003);
        ev_metrics_observe(EV_H_BATCH_SECONDS, 100);
        ev_metrics_observe(EV_H_EVENT_AGE, -5);
        text = render();
        assert_non_null(strstr(
            text, "event_ingest_build_info{program=\"event-consumer\","
                  "version=\"1.2.3\",libraries=\"lib \\\"x\\\" \\\\ 1\\nz\"} "
                  "1\n"));
        assert_true(value_of(text, "event_ingest_messages_consumed_total{"
                                   "result=\"valid\"}") == 10);
        assert_true(value_of(text, "event_ingest_messages_consumed_total{"
                                   "result=\"toxic\"}") == 3);
        assert_true(value_of(text, "event_ingest_toxic_messages_total{"
                                   "reason=\"not_json\"}") == 2);
        assert_true(value_of(text, "event_ingest_toxic_messages_total{"
                                   "reason=\"bad_level\"}") == 1);
        assert_true(value_of(text, "event_ingest_toxic_messages_total{"
                                   "reason=\"empty\"}") == 0);
        assert_true(value_of(text, "event_ingest_toxic_messages_total{"
                                   "reason=\"valid\"}") == -1);
        assert_true(
            value_of(text, "event_ingest_messages_acknowledged_total") == 13);
        assert_true(value_of(text, "event_ingest_commits_total") == 2);
        /* Cumulative buckets; +Inf equals the count. */
        assert_true(value_of(text, "event_ingest_batch_processing_seconds_"
                                   "bucket{le=\"0.0005\"}") == 1);
        assert_true(value_of(text, "event_ingest_batch_processing_seconds_"
                                   "bucket{le=\"0.005\"}") == 2);
        assert_true(value_of(text, "event_ingest_batch_processing_seconds_"
                                   "bucket{le=\"30\"}") == 2);
        assert_true(value_of(text, "event_ingest_batch_processing_seconds_"
                                   "bucket{le=\"+Inf\"}") == 3);
        assert_true(value_of(text, "event_ingest_batch_processing_seconds_"
                                   "count") == 3);
        assert_true(value_of(text, "event_ingest_batch_processing_seconds_"
                                   "sum") > 100);
        /* A negative age (a clock ahead of ours) counts as 0. */
        assert_true(value_of(text, "event_ingest_event_age_seconds_bucket{le="
                                   "\"0.005\"}") == 1);
        assert_null(strstr(text, "event_ingest_messages_produced_total"));
        assert_null(strstr(text, "event_ingest_gateway_"));
        free(text);
}

static void test_metrics_lag(void **state)
{
        char *text;

        (void)state;
        ev_metrics_lag_begin();
        ev_metrics_lag_set("events", 0, 5);
        ev_metrics_lag_set("events", 1, -1);
        ev_metrics_lag_end();
        text = render();
        assert_true(value_of(text, "event_ingest_consumer_lag_messages{topic="
                                   "\"events\",partition=\"0\"}") == 5);
        assert_true(value_of(text, "event_ingest_consumer_lag_messages{topic="
                                   "\"events\",partition=\"1\"}") == -1);
        free(text);
        /* Partition 1 revoked: its series goes. */
        ev_metrics_lag_begin();
        ev_metrics_lag_set("events", 0, 7);
        ev_metrics_lag_end();
        text = render();
        assert_true(value_of(text, "event_ingest_consumer_lag_messages{topic="
                                   "\"events\",partition=\"0\"}") == 7);
        assert_null(strstr(text, "partition=\"1\""));
        free(text);
}

static void test_metrics_producer(void **state)
{
        char *text;

        (void)state;
        ev_metrics_init(EV_ROLE_PRODUCER, "1.2.3", "libs");
        ev_metrics_add(EV_C_PRODUCED, 7);
        ev_metrics_add(EV_C_DELIVERY_FAILED, 1);
        text = render();
        assert_true(value_of(text, "event_ingest_messages_produced_total") ==
                    7);
        assert_true(value_of(text, "event_ingest_delivery_failures_total") ==
                    1);
        assert_null(strstr(text, "event_ingest_messages_consumed_total"));
        assert_non_null(strstr(text, "program=\"event-producer\""));
        assert_null(strstr(text, "event_ingest_gateway_"));
        free(text);
}

static void test_metrics_gateway(void **state)
{
        char *text;

        (void)state;
        ev_metrics_init(EV_ROLE_GATEWAY, "1.2.3", "libs");
        ev_metrics_request(202);
        ev_metrics_request(202);
        ev_metrics_request(413);
        ev_metrics_request(431);
        ev_metrics_request(99);
        ev_metrics_request(600);
        ev_metrics_observe(EV_H_GATEWAY_SECONDS, 0.0004);
        ev_metrics_observe(EV_H_GATEWAY_SECONDS, 0.0015);
        text = render();
        assert_non_null(strstr(text, "program=\"event-gateway\""));
        assert_true(value_of(text, "event_ingest_gateway_requests_total{"
                                   "status=\"202\"}") == 2);
        assert_true(value_of(text, "event_ingest_gateway_requests_total{"
                                   "status=\"413\"}") == 1);
        /* The gateway's statuses are there from the start; another only
         * once seen; none outside 100 to 599. */
        assert_true(value_of(text, "event_ingest_gateway_requests_total{"
                                   "status=\"503\"}") == 0);
        assert_true(value_of(text, "event_ingest_gateway_requests_total{"
                                   "status=\"431\"}") == 1);
        assert_true(value_of(text, "event_ingest_gateway_requests_total{"
                                   "status=\"502\"}") == -1);
        assert_null(strstr(text, "status=\"99\""));
        assert_null(strstr(text, "status=\"600\""));
        assert_true(value_of(text, "event_ingest_gateway_request_seconds_"
                                   "bucket{le=\"0.0005\"}") == 1);
        assert_true(value_of(text, "event_ingest_gateway_request_seconds_"
                                   "bucket{le=\"0.002\"}") == 2);
        assert_true(value_of(text, "event_ingest_gateway_request_seconds_"
                                   "count") == 2);
        assert_non_null(strstr(text, "event_ingest_messages_produced_total"));
        assert_non_null(strstr(text, "event_ingest_publish_errors_total"));
        assert_non_null(strstr(text, "(the gateway)"));
        assert_null(strstr(text, "event_ingest_messages_consumed_total"));
        assert_null(strstr(text, "event_ingest_batch_processing_seconds"));
        free(text);
}

static void test_health(void **state)
{
        (void)state;
        ev_health_set_serving(false);
        ev_health_set_connected(false);
        assert_false(ev_health_ready());
        ev_health_set_serving(true);
        assert_false(ev_health_ready());
        ev_health_set_connected(true);
        assert_true(ev_health_ready());
        ev_health_set_serving(false);
        assert_false(ev_health_ready());
        ev_health_beat();
        assert_true(ev_health_alive(1));
        nanosleep(&(struct timespec){0, 30 * 1000 * 1000}, NULL);
        assert_false(ev_health_alive(0.01));
        ev_health_beat();
        assert_true(ev_health_alive(0.01));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_metrics_consumer),
            cmocka_unit_test(test_metrics_lag),
            cmocka_unit_test(test_metrics_producer),
            cmocka_unit_test(test_metrics_gateway),
            cmocka_unit_test(test_health),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

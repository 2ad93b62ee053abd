/*
 * What both binaries do for their operators, beside their job: the
 * --metrics-addr endpoint and the periodic --stats-interval line.
 */
#ifndef EV_OPS_H
#define EV_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "httpd.h"

/* How old the loop's last beat may be for /healthz: longer than any wait
 * that does not beat (a poll of 200 ms; a Pub/Sub request retried for up
 * to 60 s through an outage). */
#define EV_OPS_ALIVE_S 90.0

/*
 * Sets up the metrics for cfg->role (build_info with libraries, a static
 * or lasting string) and, when cfg->metrics_addr is set, starts the
 * endpoint there and logs its address; *h is NULL otherwise. Returns
 * EV_OK, or the error of ev_httpd_start with errstr set.
 */
enum ev_err ev_ops_start(const struct ev_config *cfg, const char *libraries,
                         struct ev_httpd **h, char *errstr, size_t errstr_size);

/* True once every interval seconds (never when interval is 0): time for
 * the periodic stats line. The first is due an interval after the first
 * call. */
bool ev_ops_stats_due(double interval);

#endif

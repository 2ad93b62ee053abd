/*
 * The operator-facing start-up shared by both mains, and the stats clock.
 */
#include "ops.h"

#include <stdio.h>

#include "log.h"
#include "metrics.h"
#include "signals.h"

enum ev_err ev_ops_start(const struct ev_config *cfg, const char *libraries,
                         struct ev_httpd **h, char *errstr, size_t errstr_size)
{
        char addr[300];
        enum ev_err err;

        *h = NULL;
        ev_metrics_init(cfg->role, EV_VERSION, libraries);
        if (!cfg->metrics_addr)
                return EV_OK;
        *h = ev_httpd_start(cfg->metrics_addr, EV_OPS_ALIVE_S, &err, errstr,
                            errstr_size);
        if (!*h)
                return err;
        ev_httpd_address(*h, addr, sizeof(addr));
        ev_log(EV_LOG_INFO,
               "serving /metrics, /healthz and /readyz on http://%s", addr);
        return EV_OK;
}

bool ev_ops_stats_due(double interval)
{
        static double next;
        double now;

        if (interval <= 0)
                return false;
        now = ev_signals_now();
        if (!next)
                next = now + interval;
        if (now < next)
                return false;
        next = now + interval;
        return true;
}

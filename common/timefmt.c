/*
 * RFC 3339 formatting on gmtime_r: no state, no allocation.
 */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

bool ev_timefmt_rfc3339_ms(int64_t unix_ms, char *buf, size_t size)
{
        int64_t secs = unix_ms / 1000;
        int ms = (int)(unix_ms % 1000);
        struct tm tm;
        time_t t;

        /* Floored, so that -1 ms is 23:59:59.999 of the day before. */
        if (ms < 0) {
                ms += 1000;
                secs--;
        }
        t = (time_t)secs;
        if (size < EV_TIMEFMT_SIZE || !gmtime_r(&t, &tm) ||
            tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
                return false;
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ms);
        return true;
}

int64_t ev_timefmt_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

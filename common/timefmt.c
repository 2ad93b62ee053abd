/*
 * RFC 3339 formatting: no state, no allocation.
 */
#include "timefmt.h"

#include <time.h>

/* Writes v as n digits at p. */
static void put_digits(char *p, int v, int n)
{
        while (n--) {
                p[n] = (char)('0' + v % 10);
                v /= 10;
        }
}

/* Hot in the postgres sink (two times a row): the civil date by Howard
 * Hinnant's days-to-civil algorithm and the digits by hand, rather than
 * gmtime_r and snprintf. */
bool ev_timefmt_rfc3339_ms(int64_t unix_ms, char *buf, size_t size)
{
        /* Floored, so that -1 ms is 23:59:59.999 of the day before. */
        int64_t days = unix_ms / 86400000, ms_of_day = unix_ms % 86400000;
        int64_t era, doe, yoe, doy, mp, year;
        int month, day;

        if (ms_of_day < 0) {
                ms_of_day += 86400000;
                days--;
        }
        days += 719468;
        era = (days >= 0 ? days : days - 146096) / 146097;
        doe = days - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        day = (int)(doy - (153 * mp + 2) / 5 + 1);
        month = (int)(mp < 10 ? mp + 3 : mp - 9);
        year = yoe + era * 400 + (month <= 2);
        if (size < EV_TIMEFMT_SIZE || year < 0 || year > 9999)
                return false;
        put_digits(buf, (int)year, 4);
        buf[4] = '-';
        put_digits(buf + 5, month, 2);
        buf[7] = '-';
        put_digits(buf + 8, day, 2);
        buf[10] = 'T';
        put_digits(buf + 11, (int)(ms_of_day / 3600000), 2);
        buf[13] = ':';
        put_digits(buf + 14, (int)(ms_of_day / 60000 % 60), 2);
        buf[16] = ':';
        put_digits(buf + 17, (int)(ms_of_day / 1000 % 60), 2);
        buf[19] = '.';
        put_digits(buf + 20, (int)(ms_of_day % 1000), 3);
        buf[23] = 'Z';
        buf[24] = '\0';
        return true;
}

int64_t ev_timefmt_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * validate-bench: the single-core ceiling of the consumer's per-message
 * work. Reads an event file (one payload a line) into memory, then times
 * the project's validator (ev_event_validate, default rules: schema on,
 * 1 MiB limit) over every line, and a bare json_loadb + json_decref loop
 * over the same lines, with no I/O in either timed loop. Owns nothing but
 * its buffer; bench/run.sh runs it.
 *
 *   validate-bench [-r RESULTS] [-n REP] [-s SIZE] FILE
 *
 * Prints msgs/s and MB/s for both on stdout. With -r it also appends two
 * records to RESULTS in the bench results format (section "validate",
 * tools "validator" and "json_loadb"): events, bytes, wall_s and cpu_s of
 * the timed loop alone, rss_kb the process's peak so far.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "event.h"

#define PROG "validate-bench"

struct line {
        const char *buf;
        size_t len;
};

struct input {
        char *data;
        size_t size;
        struct line *lines;
        size_t count;
        size_t bytes; /* payload bytes, newlines not counted */
};

struct timing {
        double wall_s;
        double cpu_s;
        size_t valid;
};

static double clock_s(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
        struct rusage ru;

        if (getrusage(RUSAGE_SELF, &ru) != 0)
                return 0;
        return ru.ru_maxrss;
}

/* Reads path whole and splits it at '\n'; a last line without one counts.
 * Returns false (with a message on stderr) on failure. */
static bool load(const char *path, struct input *in)
{
        FILE *f = fopen(path, "rb");
        struct stat st;
        size_t i, start, cap = 1024;

        memset(in, 0, sizeof(*in));
        if (!f || fstat(fileno(f), &st) != 0) {
                fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
                if (f)
                        fclose(f);
                return false;
        }
        in->size = (size_t)st.st_size;
        in->data = malloc(in->size + 1);
        in->lines = malloc(cap * sizeof(*in->lines));
        if (!in->data || !in->lines ||
            fread(in->data, 1, in->size, f) != in->size) {
                fprintf(stderr, "%s: %s: cannot read\n", PROG, path);
                fclose(f);
                return false;
        }
        fclose(f);
        for (i = start = 0; i <= in->size; i++) {
                if (i < in->size && in->data[i] != '\n')
                        continue;
                if (i == in->size && i == start)
                        break; /* no unterminated last line */
                if (in->count == cap) {
                        struct line *grown;

                        cap *= 2;
                        grown = realloc(in->lines, cap * sizeof(*grown));
                        if (!grown) {
                                fprintf(stderr, "%s: out of memory\n", PROG);
                                return false;
                        }
                        in->lines = grown;
                }
                in->lines[in->count].buf = in->data + start;
                in->lines[in->count].len = i - start;
                in->bytes += i - start;
                in->count++;
                start = i + 1;
        }
        return true;
}

static struct timing run_validator(const struct input *in)
{
        const struct ev_event_rules rules = {
            .max_payload_bytes = EV_DEFAULT_MAX_PAYLOAD_BYTES,
            .schema = true,
        };
        struct ev_verdict verdict;
        struct timing t = {0};
        double wall0 = clock_s(CLOCK_MONOTONIC);
        double cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        size_t i;

        for (i = 0; i < in->count; i++) {
                json_t *root;

                /* The consumer keeps the tree of a valid event for its
                 * sink; freeing it here is its cost too. */
                if (ev_event_validate(in->lines[i].buf, in->lines[i].len,
                                      &rules, &root, &verdict)) {
                        t.valid++;
                        json_decref(root);
                }
        }
        t.cpu_s = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        t.wall_s = clock_s(CLOCK_MONOTONIC) - wall0;
        return t;
}

static struct timing run_loadb(const struct input *in)
{
        struct timing t = {0};
        double wall0 = clock_s(CLOCK_MONOTONIC);
        double cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        json_error_t jerr;
        size_t i;

        for (i = 0; i < in->count; i++) {
                json_t *root =
                    json_loadb(in->lines[i].buf, in->lines[i].len, 0, &jerr);

                if (root) {
                        t.valid++;
                        json_decref(root);
                }
        }
        t.cpu_s = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        t.wall_s = clock_s(CLOCK_MONOTONIC) - wall0;
        return t;
}

static void report(const char *tool, const struct input *in,
                   const struct timing *t)
{
        double wall = t->wall_s > 0 ? t->wall_s : 1e-9;

        printf("%-10s %9zu msgs %8.3f s %11.0f msgs/s %8.1f MB/s "
               "(%zu parsed/valid)\n",
               tool, in->count, t->wall_s, (double)in->count / wall,
               (double)in->bytes / wall / 1e6, t->valid);
}

static bool record(FILE *out, const char *tool, long rep, long size,
                   const struct input *in, const struct timing *t)
{
        fprintf(out,
                "{\"section\": \"validate\", \"tool\": \"%s\", \"rep\": %ld, "
                "\"events\": %zu, \"bytes\": %zu, \"wall_s\": %.6f, "
                "\"cpu_s\": %.6f, \"rss_kb\": %ld",
                tool, rep, in->count, in->bytes, t->wall_s, t->cpu_s,
                peak_rss_kb());
        if (size > 0)
                fprintf(out, ", \"size\": %ld", size);
        fputs("}\n", out);
        return !ferror(out);
}

static void usage(FILE *to)
{
        fprintf(to,
                "usage: %s [-r RESULTS] [-n REP] [-s SIZE] FILE\n"
                "  -r RESULTS  append the two records (section "
                "\"validate\") to RESULTS\n"
                "  -n REP      their \"rep\" (default 1)\n"
                "  -s SIZE     their \"size\" (default: none)\n",
                PROG);
}

static bool parse_long(const char *s, long *val)
{
        char *end;

        errno = 0;
        *val = strtol(s, &end, 10);
        return errno == 0 && end != s && *end == '\0' && *val >= 0;
}

int main(int argc, char **argv)
{
        const char *results = NULL;
        long rep = 1, size = 0;
        struct input in;
        struct timing v, j;
        int opt, rc = EXIT_SUCCESS;

        while ((opt = getopt(argc, argv, "r:n:s:h")) != -1) {
                switch (opt) {
                case 'r':
                        results = optarg;
                        break;
                case 'n':
                        if (!parse_long(optarg, &rep) || rep < 1) {
                                usage(stderr);
                                return EX_USAGE;
                        }
                        break;
                case 's':
                        if (!parse_long(optarg, &size)) {
                                usage(stderr);
                                return EX_USAGE;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        if (optind != argc - 1) {
                usage(stderr);
                return EX_USAGE;
        }
        if (!load(argv[optind], &in)) {
                free(in.data);
                free(in.lines);
                return EX_NOINPUT;
        }
        /* Alternate which loop runs first, so neither always pays for a
         * cold heap. */
        if (rep % 2) {
                v = run_validator(&in);
                j = run_loadb(&in);
        } else {
                j = run_loadb(&in);
                v = run_validator(&in);
        }
        report("validator", &in, &v);
        report("json_loadb", &in, &j);
        if (results) {
                FILE *out = fopen(results, "a");
                bool ok = out && record(out, "validator", rep, size, &in, &v) &&
                          record(out, "json_loadb", rep, size, &in, &j);

                if (out && fclose(out) != 0)
                        ok = false;
                if (!ok) {
                        fprintf(stderr, "%s: %s: cannot append\n", PROG,
                                results);
                        rc = EX_IOERR;
                }
        }
        free(in.data);
        free(in.lines);
        return rc;
}

/*
 * libFuzzer target: ev_config_parse on a command line and an environment
 * built from the input. Byte 0 picks the role (bit 1: verify, else bit 0:
 * producer, else consumer); the rest
 * splits at NUL bytes into at most 64 tokens. A token "NAME=value" whose
 * NAME is one of the settings' variables goes into the environment; every
 * other token is an argument. The variables are cleared before and after
 * every run, so runs cannot see each other.
 */
/* putenv: the environment entries are ours to free once removed. */
#define _XOPEN_SOURCE 700

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "pgrow.h"

#define MAX_TOKENS 64
#define MAX_VARS   64

/* Every variable the settings read, found in every role's --help text,
 * which the settings table in common/config.c drives: a new setting is
 * fuzzed without a change here. */
static char *vars[MAX_VARS];
static size_t vars_cnt;

/* Adds the "[NAME, default ...]" and "[NAME]" names of role's usage. */
static void find_vars(enum ev_role role)
{
        char *text = NULL;
        size_t size = 0, i;
        FILE *fp = open_memstream(&text, &size);
        const char *p;

        if (!fp)
                abort();
        ev_config_usage(role, "fuzz", fp);
        if (fclose(fp))
                abort();
        /* After the "Usage: fuzz [OPTION]..." line. */
        p = strchr(text, '\n');
        for (p = p ? strchr(p, '[') : NULL; p; p = strchr(p + 1, '[')) {
                size_t n = strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");

                if (!n || (p[1 + n] != ',' && p[1 + n] != ']'))
                        continue;
                for (i = 0; i < vars_cnt; i++) {
                        if (strlen(vars[i]) == n && !strncmp(vars[i], p + 1, n))
                                break;
                }
                if (i < vars_cnt)
                        continue;
                if (vars_cnt == MAX_VARS)
                        abort();
                vars[vars_cnt] = strndup(p + 1, n);
                if (!vars[vars_cnt++])
                        abort();
        }
        free(text);
}

static void clear_vars(void)
{
        size_t i;

        for (i = 0; i < vars_cnt; i++)
                unsetenv(vars[i]);
}

static bool is_var(const char *token)
{
        const char *eq = strchr(token, '=');
        size_t i;

        if (!eq)
                return false;
        for (i = 0; i < vars_cnt; i++) {
                if (strlen(vars[i]) == (size_t)(eq - token) &&
                    !strncmp(token, vars[i], (size_t)(eq - token)))
                        return true;
        }
        return false;
}

/* Reads every string the config borrows, so that ASan sees one that
 * points to freed or foreign memory. */
static size_t touch(const char *s)
{
        return s ? strlen(s) : 0;
}

static void check_config(const struct ev_config *cfg)
{
        size_t n = 0, i;

        n += touch(cfg->brokers) + touch(cfg->topic) + touch(cfg->project);
        n += touch(cfg->pubsub_topic) + touch(cfg->subscription);
        n += touch(cfg->credentials) + touch(cfg->emulator_host);
        n += touch(cfg->pubsub_endpoint) + touch(cfg->input);
        n += touch(cfg->group) + touch(cfg->pg_dsn) + touch(cfg->pg_table);
        n += touch(cfg->pg_route_by) + touch(cfg->source);
        for (i = 0; i < cfg->props_cnt; i++)
                n += touch(cfg->props[i].key) + touch(cfg->props[i].value);
        (void)n;
        if (cfg->action != EV_CONFIG_RUN)
                return;
        if (cfg->role != EV_ROLE_PRODUCER && cfg->rules.max_payload_bytes < 1)
                fuzz_fail("max_payload_bytes 0 accepted");
        if (cfg->role != EV_ROLE_PRODUCER && !ev_pgrow_table_ok(cfg->pg_table))
                fuzz_fail("table name '%s' accepted", cfg->pg_table);
        if (cfg->transport == EV_TRANSPORT_PUBSUB &&
            (!cfg->project || cfg->ack_deadline < 10 ||
             cfg->ack_deadline > 600))
                fuzz_fail("a Pub/Sub config without a project or with ack "
                          "deadline %lu accepted",
                          cfg->ack_deadline);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        find_vars(EV_ROLE_PRODUCER);
        find_vars(EV_ROLE_CONSUMER);
        find_vars(EV_ROLE_VERIFY);
        /* The table has some 25: far fewer means the --help text changed
         * its form, and the environment would go unfuzzed. */
        if (vars_cnt < 20)
                fuzz_fail("only %zu variables in the --help text", vars_cnt);
        clear_vars();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *tokens[MAX_TOKENS];
        char *argv[MAX_TOKENS + 2];
        char prog[] = "event-fuzz";
        struct ev_config cfg;
        char errstr[256];
        enum ev_role role;
        enum ev_err err;
        size_t ntok = 0, i, start;
        int argc = 0;

        if (size == 0)
                return 0;
        role = data[0] & 2   ? EV_ROLE_VERIFY
               : data[0] & 1 ? EV_ROLE_PRODUCER
                             : EV_ROLE_CONSUMER;
        argv[argc++] = prog;
        for (start = 1; start < size && ntok < MAX_TOKENS;) {
                const uint8_t *nul = memchr(data + start, 0, size - start);
                size_t end = nul ? (size_t)(nul - data) : size;
                char *t = malloc(end - start + 1);

                if (!t)
                        abort();
                memcpy(t, data + start, end - start);
                t[end - start] = '\0';
                tokens[ntok++] = t;
                if (is_var(t)) {
                        if (putenv(t))
                                abort();
                } else {
                        argv[argc++] = t;
                }
                start = end + 1;
        }
        argv[argc] = NULL;

        memset(errstr, 0x7e, sizeof(errstr));
        err = ev_config_parse(&cfg, role, argc, argv, errstr, sizeof(errstr));
        if (err != EV_OK && err != EV_ERR_USAGE && err != EV_ERR_NOMEM)
                fuzz_fail("ev_config_parse returned %d", (int)err);
        /* errstr may quote the input as it is: ev_log escapes it when it
         * is printed. So it need only be a filled, terminated string. */
        if (err && (!memchr(errstr, '\0', sizeof(errstr)) || !errstr[0]))
                fuzz_fail("error %d without a message", (int)err);
        if (!err)
                check_config(&cfg);
        ev_config_free(&cfg);

        /* The entries go before the strings they point to. */
        clear_vars();
        for (i = 0; i < ntok; i++)
                free(tokens[i]);
        return 0;
}

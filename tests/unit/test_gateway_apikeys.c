/*
 * Unit tests for gateway/apikeys: the file's format (comments, blanks,
 * CRLF), every refusal naming its line and never its key, and the lookup:
 * a key's tenant, and nothing for near misses.
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
#include <unistd.h>

#include "apikeys.h"

#define BYTES(s) (s), sizeof(s) - 1

/* Parses the len bytes of text from a heap copy of exactly that size. */
static struct ev_apikeys *parse(const char *text, size_t len, enum ev_err *err,
                                char *errstr, size_t errstr_size)
{
        char *copy = malloc(len ? len : 1);
        struct ev_apikeys *keys;

        assert_non_null(copy);
        memcpy(copy, text, len);
        keys =
            ev_apikeys_parse(copy, len, "keys.txt", err, errstr, errstr_size);
        free(copy);
        return keys;
}

static const char *tenant_of(const struct ev_apikeys *keys, const char *key)
{
        return ev_apikeys_tenant(keys, key, strlen(key));
}

static void test_parse(void **state)
{
        static const char text[] =
            "# event-gateway API keys: KEY TENANT_ID\n"
            "\n"
            "   \t\n"
            "SECRETacme0123456789 acme\n"
            "  \tSECRETbeta-._~+/== \t beta-2_x  \r\n"
            "   # an indented comment SECRETnot-a-key nope\n"
            "SECRETgamma acme";
        struct ev_apikeys *keys;
        char errstr[256] = "";
        enum ev_err err;

        (void)state;
        keys = parse(BYTES(text), &err, errstr, sizeof(errstr));
        if (!keys)
                fail_msg("%s", errstr);
        assert_int_equal(err, EV_OK);
        assert_int_equal(ev_apikeys_count(keys), 3);
        assert_string_equal(tenant_of(keys, "SECRETacme0123456789"), "acme");
        assert_string_equal(tenant_of(keys, "SECRETbeta-._~+/=="), "beta-2_x");
        assert_string_equal(tenant_of(keys, "SECRETgamma"), "acme");
        /* Near misses. */
        assert_null(tenant_of(keys, "SECRETacme012345678"));
        assert_null(tenant_of(keys, "SECRETacme01234567890"));
        assert_null(tenant_of(keys, "secretacme0123456789"));
        assert_null(tenant_of(keys, "SECRETbeta-._~+/="));
        assert_null(tenant_of(keys, "SECRETnot-a-key"));
        assert_null(tenant_of(keys, "acme"));
        assert_null(tenant_of(keys, ""));
        assert_null(ev_apikeys_tenant(keys, "SECRETgamma\0", 12));
        ev_apikeys_destroy(keys);
        ev_apikeys_destroy(NULL);
}

static void test_key_lengths(void **state)
{
        char text[1200], key[600];
        struct ev_apikeys *keys;
        char errstr[256];
        enum ev_err err;

        (void)state;
        memset(key, 'k', EV_APIKEYS_KEY_MAX);
        key[EV_APIKEYS_KEY_MAX] = '\0';
        snprintf(text, sizeof(text), "%s t\n", key);
        keys = parse(text, strlen(text), &err, errstr, sizeof(errstr));
        assert_non_null(keys);
        assert_string_equal(tenant_of(keys, key), "t");
        ev_apikeys_destroy(keys);
        snprintf(text, sizeof(text), "%sk t\n", key);
        assert_null(parse(text, strlen(text), &err, errstr, sizeof(errstr)));
        assert_int_equal(err, EV_ERR_CONFIG);
        assert_non_null(strstr(errstr, "line 1: the key is not"));
        assert_null(strstr(errstr, "kkkk"));
}

static void test_refusals(void **state)
{
        static const struct {
                const char *text;
                size_t len;
                const char *why; /* a substring of errstr */
        } cases[] = {
            {BYTES(""), "keys.txt: no keys"},
            {BYTES("# only a comment\n\n"), "no keys"},
            {BYTES("SECRETkey\n"), "line 1: expected KEY TENANT_ID"},
            {BYTES("# c\nSECRETkey acme extra\n"),
             "line 2: expected KEY TENANT_ID"},
            {BYTES("SECRETkey acme # a comment\n"), "line 1: expected"},
            {BYTES("SECRETkey acme\nSECRETkey beta\n"),
             "line 2: the same key as line 1"},
            {BYTES("SECRETkey acme\n\n# c\nSECRETkey acme\n"),
             "line 4: the same key as line 1"},
            {BYTES("SECRET@key acme\n"), "line 1: the key is not a Bearer"},
            {BYTES("SECRET=key acme\n"), "line 1: the key is not"},
            {BYTES("=SECRETkey acme\n"), "line 1: the key is not"},
            {BYTES("SECRET\xc3\xa9 acme\n"), "line 1: the key is not"},
            {BYTES("SECRET\0key acme\n"), "line 1: the key is not"},
            {BYTES("SECRETkey a/b\n"), "line 1: the tenant id must be"},
            {BYTES("SECRETkey __a__\n"), "line 1: the tenant id must be"},
            {BYTES("SECRETkey caf\xc3\xa9\n"), "line 1: the tenant id"},
            {BYTES("SECRETok acme\nSECRETkey aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
             "line 2: the tenant id"},
        };
        char errstr[256];
        enum ev_err err;
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                errstr[0] = '\0';
                if (parse(cases[i].text, cases[i].len, &err, errstr,
                          sizeof(errstr)))
                        fail_msg("case %zu: accepted", i);
                assert_int_equal(err, EV_ERR_CONFIG);
                if (!strstr(errstr, cases[i].why))
                        fail_msg("case %zu: '%s' lacks '%s'", i, errstr,
                                 cases[i].why);
                /* The setting and file are named, never a key. */
                assert_non_null(strstr(errstr, "API_KEYS_FILE/--api-keys"));
                if (strstr(errstr, "SECRET"))
                        fail_msg("case %zu: '%s' shows a key", i, errstr);
        }
}

static void test_load(void **state)
{
        char path[] = "/tmp/test_gateway_apikeys.XXXXXX";
        struct ev_apikeys *keys;
        char errstr[256];
        enum ev_err err;
        FILE *fp;
        int fd;

        (void)state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        fp = fdopen(fd, "w");
        assert_non_null(fp);
        fputs("SECRETfile-key tenant-1\n", fp);
        fclose(fp);
        keys = ev_apikeys_load(path, &err, errstr, sizeof(errstr));
        assert_non_null(keys);
        assert_string_equal(tenant_of(keys, "SECRETfile-key"), "tenant-1");
        ev_apikeys_destroy(keys);
        unlink(path);
        assert_null(ev_apikeys_load(path, &err, errstr, sizeof(errstr)));
        assert_int_equal(err, EV_ERR_CONFIG);
        assert_non_null(strstr(errstr, path));
        assert_non_null(strstr(errstr, "No such file"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_key_lengths),
            cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_load),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

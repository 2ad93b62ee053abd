/*
 * PII redaction with PCRE2. Owns the compiled patterns, one match data
 * block, a JIT stack and the output buffers; borrows the text and the
 * events it redacts. Knows nothing of sinks, the pipeline or logging.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "redact.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "pgrow.h"

/*
 * Phone numbers, matched byte by byte (no UTF mode): every character the
 * pattern can match is ASCII, and no UTF-8 continuation byte is one, so a
 * match never starts or ends inside a multi-byte character. Digits are
 * ASCII digits only.
 *
 * - NANP with an area code, optionally after a country code "1" or "+1":
 *   (555) 123-4567, (555)123-4567, 555-123-4567, 555.123.4567,
 *   555 123 4567, 1-555-123-4567, +1 (555) 123-4567. The separators are one
 *   '-', '.' or ' ' each; the area code starts with 2-9.
 * - E.164 and grouped international numbers: '+', then 8 to 15 digits,
 *   the first 1-9, with single spaces or hyphens between them:
 *   +4915112345678, +44 20 7946 0958, +1 555 123 4567; or '+', a country
 *   code of 1 to 3 digits, the trunk prefix "(0)" and 6 to 13 digits:
 *   +44 (0)20 7946 0958.
 * - NANP local numbers: 555-0199 (hyphen only: 555.0199 could as well be a
 *   decimal number); the first digit is 2-9.
 *
 * Around a match: no ASCII letter, digit or '_' on either side, no '.',
 * '+', '-' or '@' before it, no '@' after it, and no '.' or '-' followed by
 * a digit after it. So the digits of dates (2026-11-29), times
 * (21:13:25.123Z, +05:30), versions (1.2.3), IP addresses (10.0.0.1), UUIDs,
 * hex hashes, prices (123.45) and identifiers (ORD-555-0199, v555-0199) are
 * not numbers, and digit runs without separators (12345678901234, card
 * numbers) never match unless they follow a '+'. Letters of other scripts
 * may touch a number ("電話555-0199"): they are no boundary.
 */
#define PHONE_BEFORE "(?<![A-Za-z0-9_.+@-])"
#define PHONE_AFTER  "(?![A-Za-z0-9_@]|[.-][0-9])"
#define NANP_AREA                                                              \
        "(?:\\+?1[-. ]?)?(?:\\([2-9][0-9]{2}\\) ?|[2-9][0-9]{2}[-. ])"         \
        "[0-9]{3}[-. ][0-9]{4}"
#define INTERNATIONAL "\\+[1-9](?:[ -]?[0-9]){7,14}"
#define TRUNK         "\\+[1-9][0-9]{0,2} ?\\(0\\) ?[0-9](?:[ -]?[0-9]){5,12}"
#define NANP_LOCAL    "[2-9][0-9]{2}-[0-9]{4}"
#define PHONE                                                                  \
        PHONE_BEFORE "(?:" NANP_AREA "|" INTERNATIONAL "|" TRUNK               \
                     "|" NANP_LOCAL ")" PHONE_AFTER

/*
 * E-mail addresses, in UTF mode with Unicode properties (PCRE2_UTF |
 * PCRE2_UCP), a practical subset of RFC 5322 and RFC 6531:
 * - the local part: runs of letters, marks, digits, '_', '%', '+' and '-'
 *   of any script, joined by single dots (no quoted local parts);
 * - '@', then one to 126 domain labels each followed by a dot (letters,
 *   marks, digits and inner hyphens, 63 at most);
 * - the top-level domain: two to 63 letters, or an IDN's xn--... form.
 * The match starts where a run of such characters starts (so a leading
 * dot, "..a@x.org", makes it no address) and ends where no letter, digit,
 * '_', '-', '@' or dotted label follows. A domain without a dot
 * (user@localhost), an IP literal (user@10.0.0.1, user@[10.0.0.1]) and a
 * numeric top-level domain (pkg@1.2.3) do not match; a file name shaped
 * like an address (icon@2x.png) does.
 */
#define EMAIL_CHAR  "[\\p{L}\\p{M}\\p{N}_%+-]"
#define LABEL_CHAR  "[\\p{L}\\p{M}\\p{N}]"
#define LABEL       LABEL_CHAR "(?:[\\p{L}\\p{M}\\p{N}-]{0,61}" LABEL_CHAR ")?"
#define EMAIL_AFTER "(?![\\p{L}\\p{M}\\p{N}_@-]|\\." LABEL_CHAR ")"
#define EMAIL                                                                  \
        "(?<![\\p{L}\\p{M}\\p{N}_%+.@-])" EMAIL_CHAR "++(?:\\." EMAIL_CHAR     \
        "++)*+@(?:" LABEL "\\.){1,126}"                                        \
        "(?:[Xx][Nn]--[A-Za-z0-9-]{1,59}|\\p{L}{2,63})" EMAIL_AFTER

/* The passes, in order: e-mail first, so that the digits of an address
 * (555-0199@example.com) are gone before the phone pass. */
enum kind {
        KIND_EMAIL,
        KIND_PHONE,
        KIND__CNT,
};

/* Every match holds an '@'. */
static bool may_be_email(const char *s, size_t len)
{
        return memchr(s, '@', len) != NULL;
}

/* Every match holds 7 ASCII digits at least (NANP_LOCAL). Counting them
 * all, without an early exit, measured twice as fast on short strings. */
static bool may_be_phone(const char *s, size_t len)
{
        size_t i, digits = 0;

        for (i = 0; i < len; i++)
                digits += (unsigned char)(s[i] - '0') < 10;
        return digits >= 7;
}

/* The cheap tests come first: most strings are not worth a match call,
 * which costs a few nanoseconds a byte on text without candidates. */
static const struct {
        unsigned bit;     /* enum ev_config_redact */
        uint32_t options; /* PCRE2 compile options */
        const char *source;
        bool (*may_match)(const char *s, size_t len); /* false: no match */
} patterns[KIND__CNT] = {
    [KIND_EMAIL] = {EV_CONFIG_REDACT_EMAIL, PCRE2_UTF | PCRE2_UCP, EMAIL,
                    may_be_email},
    [KIND_PHONE] = {EV_CONFIG_REDACT_PHONE, 0, PHONE, may_be_phone},
};

/* The JIT stack: far more than the patterns' bounded repeats need, so
 * that only a PCRE2 bug could hit it (and then the text fails closed). */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX   (512 * 1024)

/* The top-level members never redacted (when strings): what the pipeline
 * and the sinks identify, route and date an event by. event_id is the
 * postgres key, tenant_id and log_id the Firestore document path, source
 * the gateway's upload kind, timestamp and event_time the event's time. A
 * redacted id would merge distinct events into one row or document, and
 * "[REDACTED]" is no valid id, path segment or date. They hold
 * identifiers, not free text. */
static const char *const exempt[] = {
    "timestamp", "event_time", "event_id", "tenant_id", "log_id", "source",
};

struct ev_redactor {
        pcre2_code *code[KIND__CNT]; /* NULL: not asked for */
        pcre2_match_data *md;
        pcre2_match_context *mctx;
        pcre2_jit_stack *stack;
        struct ev_pgrow_buf out[KIND__CNT]; /* each pass's result */
};

void ev_redactor_free(struct ev_redactor *r)
{
        size_t k;

        if (!r)
                return;
        for (k = 0; k < KIND__CNT; k++) {
                pcre2_code_free(r->code[k]);
                ev_pgrow_buf_free(&r->out[k]);
        }
        pcre2_match_data_free(r->md);
        pcre2_match_context_free(r->mctx);
        pcre2_jit_stack_free(r->stack);
        free(r);
}

/* Compiles pattern k into r. */
static enum ev_err compile(struct ev_redactor *r, enum kind k, char *errstr,
                           size_t errstr_size)
{
        PCRE2_UCHAR msg[256];
        PCRE2_SIZE at;
        int code;

        r->code[k] =
            pcre2_compile((PCRE2_SPTR)patterns[k].source, PCRE2_ZERO_TERMINATED,
                          patterns[k].options, &code, &at, NULL);
        if (!r->code[k]) {
                pcre2_get_error_message(code, msg, sizeof(msg));
                snprintf(errstr, errstr_size,
                         "PCRE2 cannot compile the redaction pattern: %s (at "
                         "offset %zu)",
                         (const char *)msg, (size_t)at);
                return code == PCRE2_ERROR_NOMEMORY ? EV_ERR_NOMEM
                                                    : EV_ERR_CONFIG;
        }
        /* Without JIT support (PCRE2_ERROR_JIT_BADOPTION), or short of
         * executable memory, the interpreter matches the same. */
        pcre2_jit_compile(r->code[k], PCRE2_JIT_COMPLETE);
        return EV_OK;
}

struct ev_redactor *ev_redactor_new(unsigned what, enum ev_err *err,
                                    char *errstr, size_t errstr_size)
{
        struct ev_redactor *r = calloc(1, sizeof(*r));
        size_t k;

        *err = EV_ERR_NOMEM;
        if (!r)
                goto nomem;
        if (!(what & (EV_CONFIG_REDACT_PHONE | EV_CONFIG_REDACT_EMAIL))) {
                snprintf(errstr, errstr_size, "nothing to redact");
                *err = EV_ERR_USAGE;
                goto fail;
        }
        r->md = pcre2_match_data_create(1, NULL);
        r->mctx = pcre2_match_context_create(NULL);
        r->stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
        if (!r->md || !r->mctx || !r->stack)
                goto nomem;
        pcre2_jit_stack_assign(r->mctx, NULL, r->stack);
        for (k = 0; k < KIND__CNT; k++) {
                if (!(what & patterns[k].bit))
                        continue;
                *err = compile(r, (enum kind)k, errstr, errstr_size);
                if (*err)
                        goto fail;
        }
        *err = EV_OK;
        return r;
nomem:
        snprintf(errstr, errstr_size, "out of memory");
fail:
        ev_redactor_free(r);
        return NULL;
}

/* The end of the valid UTF-8 stretch of s[0..len) that starts at from. */
static size_t valid_end(const char *s, size_t len, size_t from)
{
        unsigned long cp;
        size_t n;

        while (from < len) {
                n = ev_utf8_seq_len((const unsigned char *)s + from, len - from,
                                    &cp);
                if (!n)
                        break;
                from += n;
        }
        return from;
}

/* One pass's progress over its text s: the bytes up to copied are in
 * out (once something matched). */
struct pass {
        const char *s;
        size_t len;
        size_t copied;
        bool changed;
        struct ev_pgrow_buf *out; /* NUL-terminated */
};

/* Records the match s[start..end); false when out of memory. */
static bool replace(struct pass *p, size_t start, size_t end)
{
        if (!p->changed) {
                p->out->len = 0;
                p->out->failed = false;
        }
        p->changed = true;
        ev_pgrow_buf_append(p->out, p->s + p->copied, start - p->copied);
        ev_pgrow_buf_append(p->out, EV_REDACT_REPLACEMENT,
                            sizeof(EV_REDACT_REPLACEMENT) - 1);
        p->copied = end;
        return !p->out->failed;
}

/* Replaces every match of pattern k in the stretch s[from..to) of p's
 * text, which is valid UTF-8 when k is in UTF mode. The stretch is PCRE2's
 * whole subject: what lies outside is neither seen nor matched. */
static bool match_stretch(struct ev_redactor *r, enum kind k, struct pass *p,
                          size_t from, size_t to)
{
        PCRE2_SPTR subject = (PCRE2_SPTR)(p->s + from);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        size_t off = 0;
        int rc;

        while (off < to - from) {
                rc = pcre2_match(r->code[k], subject, to - from, off,
                                 PCRE2_NO_UTF_CHECK, r->md, r->mctx);
                if (rc == PCRE2_ERROR_NOMATCH)
                        return true;
                if (rc < 0) {
                        /* A resource limit: the whole text goes, rather
                         * than what the pattern did not get to. */
                        p->changed = false;
                        p->copied = 0;
                        return replace(p, 0, p->len);
                }
                if (!replace(p, from + ov[0], from + ov[1]))
                        return false;
                off = ov[1];
        }
        return true;
}

/* Runs pattern k over s[0..len) into r->out[k], setting *changed. When
 * valid is false, s may hold invalid UTF-8: a pattern in UTF mode then
 * runs over each valid stretch alone, the invalid bytes kept as they
 * are. */
static enum ev_err run_pass(struct ev_redactor *r, enum kind k, const char *s,
                            size_t len, bool valid, bool *changed)
{
        struct pass p = {s, len, 0, false, &r->out[k]};
        bool utf = patterns[k].options & PCRE2_UTF;
        size_t from = 0, to;

        *changed = false;
        if (!patterns[k].may_match(s, len))
                return EV_OK;
        while (from < len && p.copied < len) {
                to = valid || !utf ? len : valid_end(s, len, from);
                if (!match_stretch(r, k, &p, from, to))
                        return EV_ERR_NOMEM;
                /* Past the invalid byte that ended the stretch. */
                from = to + 1;
        }
        *changed = p.changed;
        if (!p.changed)
                return EV_OK;
        ev_pgrow_buf_append(p.out, s + p.copied, len - p.copied);
        return p.out->failed ? EV_ERR_NOMEM : EV_OK;
}

/* ev_redact_string, told whether s is known to be valid UTF-8 (a jansson
 * string always is). */
static enum ev_err redact(struct ev_redactor *r, const char *s, size_t len,
                          bool valid, bool *changed, const char **out,
                          size_t *out_len)
{
        enum ev_err err;
        bool hit;
        size_t k;

        *changed = false;
        for (k = 0; k < KIND__CNT; k++) {
                if (!r->code[k])
                        continue;
                err = run_pass(r, (enum kind)k, s, len, valid, &hit);
                if (err)
                        return err;
                if (hit) {
                        s = r->out[k].data;
                        len = r->out[k].len;
                        *changed = true;
                }
        }
        *out = s;
        *out_len = len;
        return EV_OK;
}

enum ev_err ev_redact_string(struct ev_redactor *r, const char *s, size_t len,
                             bool *changed, const char **out, size_t *out_len)
{
        return redact(r, s, len, false, changed, out, out_len);
}

/* An event's walk: the redactor, and what the first change must keep. */
struct walk {
        struct ev_redactor *r;
        json_t *message; /* borrowed: root's "message" string, or NULL */
        bool changed;
        json_t **original;
};

static enum ev_err redact_value(struct walk *w, json_t *v, json_t **repl);

static bool is_exempt(const char *key)
{
        size_t i;

        for (i = 0; i < sizeof(exempt) / sizeof(exempt[0]); i++) {
                if (!strcmp(key, exempt[i]))
                        return true;
        }
        return false;
}

/* Redacts the members of object obj; top is true for the event itself,
 * whose exempt string members are skipped. */
static enum ev_err redact_object(struct walk *w, json_t *obj, bool top)
{
        void *iter;
        json_t *repl;
        enum ev_err err;

        for (iter = json_object_iter(obj); iter;
             iter = json_object_iter_next(obj, iter)) {
                json_t *v = json_object_iter_value(iter); /* borrowed */

                if (top && json_is_string(v) &&
                    is_exempt(json_object_iter_key(iter)))
                        continue;
                repl = NULL;
                err = redact_value(w, v, &repl);
                if (err)
                        return err;
                if (repl)
                        json_object_iter_set_new(obj, iter, repl);
        }
        return EV_OK;
}

static enum ev_err redact_array(struct walk *w, json_t *arr)
{
        json_t *repl;
        enum ev_err err;
        size_t i;

        for (i = 0; i < json_array_size(arr); i++) {
                repl = NULL;
                err = redact_value(w, json_array_get(arr, i), &repl);
                if (err)
                        return err;
                if (repl)
                        json_array_set_new(arr, i, repl);
        }
        return EV_OK;
}

/* Redacts v: a changed string's replacement into *repl (new; left alone
 * otherwise), containers in place. */
static enum ev_err redact_value(struct walk *w, json_t *v, json_t **repl)
{
        const char *text;
        enum ev_err err;
        bool changed;
        size_t len;

        if (json_is_object(v))
                return redact_object(w, v, false);
        if (json_is_array(v))
                return redact_array(w, v);
        if (!json_is_string(v))
                return EV_OK;
        err = redact(w->r, json_string_value(v), json_string_length(v), true,
                     &changed, &text, &len);
        if (err || !changed)
                return err;
        /* Before the first replacement, which may be the message's own. */
        if (!w->changed && w->message)
                *w->original = json_incref(w->message);
        w->changed = true;
        /* Only ASCII replaced ASCII in valid UTF-8: still valid. */
        *repl = json_stringn_nocheck(text, len);
        return *repl ? EV_OK : EV_ERR_NOMEM;
}

enum ev_err ev_redact_event(struct ev_redactor *r, json_t *root, bool *changed,
                            json_t **original, char *errstr, size_t errstr_size)
{
        json_t *message = json_object_get(root, "message"); /* borrowed */
        struct walk w = {r, json_is_string(message) ? message : NULL, false,
                         original};
        enum ev_err err;

        *original = NULL;
        err = redact_object(&w, root, true);
        *changed = w.changed;
        if (!err)
                return EV_OK;
        json_decref(*original);
        *original = NULL;
        snprintf(errstr, errstr_size, "out of memory redacting an event");
        return err;
}

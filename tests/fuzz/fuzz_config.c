/*
 * A fuzz harness for patuhd's configuration parser (engine/config.c): the
 * bytes are a configuration file's content, read as config_load reads a
 * file, with the PATUH_* variables unset (they override the file).
 *
 * For any input it asserts what a wrong parser would violate:
 *   - a refusal has a message that starts with the file's name and, when
 *     it names a line, a line the file has;
 *   - a refusal never quotes a value of the file (config.h: "never a
 *     value"), and in particular no password;
 *   - an accepted file holds no NUL byte (a damaged file, not text);
 *   - what --check prints (config_print_effective) shows no secret: the
 *     password of pg.conninfo (keyword or URI form) nor the value of a
 *     kafka.* property naming a password or a secret;
 *   - the same bytes give the same configuration, as --check prints it.
 * A value counts when it is 4 bytes or more, occurs once in the file and
 * is no part of the text --print-config-doc prints (a key's name or
 * default may legitimately appear in a message).
 *
 * Built with -DPATUH_LIBFUZZER and -fsanitize=fuzzer it is a libFuzzer
 * target; built normally, main() replays tests/fuzz/corpus/config and
 * deploy/patuhd.conf.sample with deterministic mutations (mutate.h).
 */
#include "../../engine/config.h"
#include "mutate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH "/etc/patuh/fuzz.conf"
#define WHAT "config file " PATH

static char *baseline; /* --print-config-doc: keys, defaults, docs */

static void init(void)
{
        if (baseline)
                return;
        size_t n;
        const config_key_t *k = config_keys(&n);
        for (size_t i = 0; i < n; i++)
                if (k[i].env)
                        unsetenv(k[i].env);
        size_t len;
        FILE *f = open_memstream(&baseline, &len);
        fuzz_check(f != NULL, "open_memstream");
        config_print_doc(f);
        fputs(" " WHAT " file default env unset " CONFIG_MASK, f);
        fclose(f);
}

/* Occurrences of T (NUL-terminated) in the N bytes of S. */
static size_t count(const char *s, size_t n, const char *t)
{
        size_t tl = strlen(t), c = 0;
        /* (only 0, 1 or more matters) */
        for (size_t i = 0; tl && i + tl <= n && c < 2; i++)
                c += memcmp(s + i, t, tl) == 0;
        return c;
}

typedef struct values {
        char *v[256];
        bool secret[256];
        size_t n;
} values_t;

/* A value worth checking: see the header. */
static void add(values_t *vs, const char *in, size_t in_n, const char *s,
                size_t n, bool secret)
{
        const char *nul = memchr(s, '\0', n);
        if (nul)
                n = (size_t)(nul - s);
        if (n < 4 || vs->n == sizeof(vs->v) / sizeof(vs->v[0]))
                return;
        char *t = malloc(n + 1);
        fuzz_check(t != NULL, "out of memory");
        memcpy(t, s, n);
        t[n] = '\0';
        if (count(in, in_n, t) != 1 || strstr(baseline, t)) {
                free(t);
                return;
        }
        vs->secret[vs->n] = secret;
        vs->v[vs->n++] = t;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r';
}

static bool ends_word(char c)
{
        return is_blank(c) || c == '\'' || c == '"' || c == '&' || c == '\\' ||
               c == '@' || c == '\0';
}

/* The passwords inside a conninfo value: `password = x` (keyword form or
 * URI query) and the `user:x@` of a URI. */
static void add_passwords(values_t *vs, const char *in, size_t in_n,
                          const char *v, size_t n)
{
        bool uri = (n >= 13 && memcmp(v, "postgresql://", 13) == 0) ||
                   (n >= 11 && memcmp(v, "postgres://", 11) == 0);
        const char *q = uri ? memchr(v, '?', n) : NULL;
        for (size_t i = 0; i + 8 <= n; i++) {
                if (memcmp(v + i, "password", 8) != 0)
                        continue;
                /* a keyword: first or after a blank, or in a URI's query */
                bool kw =
                    uri ? q && v + i > q && (v[i - 1] == '?' || v[i - 1] == '&')
                        : i == 0 || is_blank(v[i - 1]);
                if (!kw)
                        continue;
                size_t j = i + 8;
                while (j < n && is_blank(v[j]))
                        j++;
                if (j >= n || v[j] != '=')
                        continue;
                j++;
                while (j < n && is_blank(v[j]))
                        j++;
                if (j < n && (v[j] == '\'' || v[j] == '"'))
                        j++;
                size_t k = j;
                while (k < n && !ends_word(v[k]))
                        k++;
                add(vs, in, in_n, v + j, k - j, true);
        }
        if (uri) {
                const char *u = v + (v[8] == ':' ? 11 : 13), *end = v + n;
                const char *at = memchr(u, '@', (size_t)(end - u));
                const char *slash = memchr(u, '/', (size_t)(end - u));
                const char *colon =
                    at ? memchr(u, ':', (size_t)(at - u)) : NULL;
                if (at && colon && (!slash || at < slash))
                        add(vs, in, in_n, colon + 1, (size_t)(at - colon - 1),
                            true);
        }
}

/* Every value of the file, read as config.h describes the syntax. */
static void collect(values_t *vs, const char *s, size_t size)
{
        size_t pos = 0;
        while (pos < size) {
                const char *l = s + pos;
                const char *nl = memchr(l, '\n', size - pos);
                size_t n = nl ? (size_t)(nl - l) : size - pos;
                pos += n + 1;
                while (n && is_blank(*l)) {
                        l++;
                        n--;
                }
                while (n && is_blank(l[n - 1]))
                        n--;
                const char *eq = memchr(l, '=', n);
                if (!n || *l == '#' || !eq)
                        continue;
                size_t kn = (size_t)(eq - l);
                while (kn && is_blank(l[kn - 1]))
                        kn--;
                const char *v = eq + 1;
                size_t vn = (size_t)(l + n - v);
                while (vn && is_blank(*v)) {
                        v++;
                        vn--;
                }
                bool kafka = kn > 6 && memcmp(l, "kafka.", 6) == 0;
                bool secret = false;
                for (size_t i = 0; kafka && i < kn; i++)
                        secret |=
                            (kn - i >= 8 && !memcmp(l + i, "password", 8)) ||
                            (kn - i >= 6 && !memcmp(l + i, "secret", 6));
                add(vs, s, size, v, vn, secret);
                if (kn == 11 && memcmp(l, "pg.conninfo", 11) == 0)
                        add_passwords(vs, s, size, v, vn);
        }
}

static size_t count_lines(const char *s, size_t n)
{
        size_t lines = 1;
        for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + n - p))); p++)
                lines++;
        return lines;
}

static char *effective(const config_t *c)
{
        char *text;
        size_t len;
        FILE *f = open_memstream(&text, &len);
        fuzz_check(f != NULL, "open_memstream");
        config_print_effective(c, PATH, f);
        fclose(f);
        return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char err[2048] = "";
        init();
        fuzz_input("fuzz_config", data, size);
        values_t vs = {.n = 0};
        collect(&vs, s, size);
        config_t *c = config_load_buffer(s, size, PATH, err, sizeof(err));
        if (!c) {
                size_t wl = strlen(WHAT), line;
                fuzz_check(strncmp(err, WHAT, wl) == 0 &&
                               (err[wl] == ':' || err[wl] == ' '),
                           "refusal '%s' does not name the file", err);
                if (sscanf(err + wl, " line %zu", &line) == 1)
                        fuzz_check(line >= 1 && line <= count_lines(s, size),
                                   "refusal '%s' names a line the file does "
                                   "not have",
                                   err);
                for (size_t i = 0; i < vs.n; i++)
                        fuzz_check(!strstr(err, vs.v[i]),
                                   "refusal '%s' quotes the value '%s'", err,
                                   vs.v[i]);
        } else {
                fuzz_check(!memchr(s, '\0', size),
                           "accepted a file holding a NUL byte");
                char *text = effective(c);
                for (size_t i = 0; i < vs.n; i++)
                        fuzz_check(!vs.secret[i] || !strstr(text, vs.v[i]),
                                   "--check shows the secret '%s':\n%s",
                                   vs.v[i], text);
                config_t *again =
                    config_load_buffer(s, size, PATH, err, sizeof(err));
                fuzz_check(again != NULL, "the same bytes refused: %s", err);
                char *text2 = effective(again);
                fuzz_check(strcmp(text, text2) == 0,
                           "the same bytes loaded differently:\n%s\n%s", text,
                           text2);
                free(text2);
                free(text);
                config_free(again);
                config_free(c);
        }
        for (size_t i = 0; i < vs.n; i++)
                free(vs.v[i]);
        return 0;
}

#ifndef PATUH_LIBFUZZER
#define MUTATIONS 400

/* Mutations worth more than random bytes for this syntax. */
static const char *const frags[] = {
    "=",
    " = ",
    "\n",
    "\r\n",
    "#",
    "\t",
    "",
    "\xEF\xBB\xBF",
    "\xC3",
    "password=",
    " password=",
    "password = ",
    "'",
    "\\",
    "postgresql://",
    "u:pw@",
    "@",
    "?password=",
    "&",
    "kafka.",
    "kafka.sasl.password = ",
    "pg.conninfo = ",
    "secret",
    "off",
    "99999999999999999999",
    "-1",
    "0",
    ":65536",
    "[::1]:80",
    "redis://",
    "/0",
    "json",
    "debug",
    "log.level = ",
};

int main(void)
{
        const fuzz_plan_t plan = {
            .harness = "fuzz_config",
            .corpus = "config",
            .mutations = MUTATIONS,
            .frags = frags,
            .n_frags = sizeof(frags) / sizeof(frags[0]),
            .corpus_plain_too = true,
            .file = "deploy/patuhd.conf.sample",
            .file_mutations = MUTATIONS,
        };
        int rc = fuzz_main(LLVMFuzzerTestOneInput, PATUH_SOURCE_DIR, &plan);
        free(baseline);
        return rc;
}
#endif

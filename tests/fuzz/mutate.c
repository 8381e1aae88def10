#include "mutate.h"

#include "../../rules/jsonv.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_MAX_INPUT 65536

uint64_t fuzz_next(uint64_t *x)
{
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

/* What a hand-edited or damaged reference file holds: JSON punctuation,
 * cut and stray UTF-8, a BOM, NUL bytes, numbers beyond every type, line
 * ends and comment and assignment marks of the config syntax. */
static const char *const default_frags[] = {
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\\",
    "\\u0000",
    "\\ud800",
    "\xC3",
    "\xE2\x82",
    "\xF0\x9F\x98",
    "\xEF\xBB\xBF",
    "\xFF",
    "null",
    "1e999",
    "-0",
    "\x00",
    "true",
    "\"\"",
    "99999999999999999999",
    "-9223372036854775809",
    "0.0000001",
    "\n",
    "\r\n",
    "\n\n",
    "=",
    "#",
    " ",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
    "2026-02-29",
    "24:00",
    "password=",
};

size_t fuzz_mutate(char *buf, size_t len, size_t cap, uint64_t *seed,
                   const char *const *frags, size_t n_frags)
{
        if (!frags) {
                frags = default_frags;
                n_frags = sizeof(default_frags) / sizeof(default_frags[0]);
        }
        switch (fuzz_next(seed) % 4) {
        case 0: /* flip a bit */
                if (len)
                        buf[fuzz_next(seed) % len] ^=
                            (char)(1u << (fuzz_next(seed) % 8));
                break;
        case 1: /* truncate */
                len = len ? fuzz_next(seed) % len : 0;
                break;
        case 2: { /* insert a fragment ("" stands for one NUL byte) */
                const char *b = frags[fuzz_next(seed) % n_frags];
                size_t bl = strlen(b) ? strlen(b) : 1;
                if (len + bl > cap)
                        break;
                size_t at = len ? fuzz_next(seed) % (len + 1) : 0;
                memmove(buf + at + bl, buf + at, len - at);
                memcpy(buf + at, b, bl);
                len += bl;
                break;
        }
        default: /* drop a span */
                if (len > 2) {
                        size_t at = fuzz_next(seed) % (len - 1);
                        size_t k = 1 + fuzz_next(seed) % (len - at - 1);
                        memmove(buf + at, buf + at + k, len - at - k);
                        len -= k;
                }
        }
        return len;
}

long fuzz_run_mutated(fuzz_one_fn one, const char *data, size_t size,
                      int mutations, uint64_t *seed, const char *const *frags,
                      size_t n_frags)
{
        if (size > FUZZ_MAX_INPUT)
                size = FUZZ_MAX_INPUT;
        size_t cap = size + 256;
        char *buf = malloc(cap);
        if (!buf) {
                fprintf(stderr, "fuzz: out of memory\n");
                abort();
        }
        /* a copy of exactly SIZE bytes, so ASan sees any read past it */
        memcpy(buf, data, size);
        one((const uint8_t *)buf, size);
        long runs = 1;
        for (int m = 0; m < mutations; m++, runs++) {
                memcpy(buf, data, size);
                size_t len = fuzz_mutate(buf, size, cap, seed, frags, n_frags);
                char *in = malloc(len ? len : 1);
                if (!in) {
                        fprintf(stderr, "fuzz: out of memory\n");
                        abort();
                }
                memcpy(in, buf, len);
                one((const uint8_t *)in, len);
                free(in);
        }
        free(buf);
        return runs;
}

long fuzz_run_file(fuzz_one_fn one, const char *path, int mutations,
                   uint64_t *seed, const char *const *frags, size_t n_frags)
{
        size_t len;
        char *buf = jsonv_slurp(path, &len);
        if (!buf) {
                fprintf(stderr, "fuzz: cannot read %s\n", path);
                return -1;
        }
        long runs =
            fuzz_run_mutated(one, buf, len, mutations, seed, frags, n_frags);
        free(buf);
        return runs;
}

long fuzz_run_dir(fuzz_one_fn one, const char *dir, int mutations,
                  uint64_t *seed, const char *const *frags, size_t n_frags,
                  long *files)
{
        struct dirent **names;
        int nd = scandir(dir, &names, NULL, alphasort);
        if (nd < 0) {
                fprintf(stderr, "fuzz: cannot read %s\n", dir);
                return -1;
        }
        long runs = 0;
        for (int i = 0; i < nd; i++) {
                char path[4096];
                struct stat st;
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
                if (names[i]->d_name[0] != '.' && runs >= 0 &&
                    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        long r = fuzz_run_file(one, path, mutations, seed,
                                               frags, n_frags);
                        runs = r < 0 ? -1 : runs + r;
                        if (files)
                                (*files)++;
                }
                free(names[i]);
        }
        free(names);
        return runs;
}

long fuzz_run_scenarios(fuzz_one_fn one, const char *source_dir,
                        const char *file, int mutations, uint64_t *seed,
                        const char *const *frags, size_t n_frags, long *files)
{
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/tests/scenarios", source_dir);
        struct dirent **names;
        int nd = scandir(dir, &names, NULL, alphasort);
        if (nd < 0) {
                fprintf(stderr, "fuzz: cannot read %s\n", dir);
                return -1;
        }
        long runs = 0;
        for (int i = 0; i < nd; i++) {
                char path[8192];
                snprintf(path, sizeof(path), "%s/%s/%s", dir, names[i]->d_name,
                         file);
                struct stat st;
                if (names[i]->d_name[0] != '.' && runs >= 0 &&
                    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        long r = fuzz_run_file(one, path, mutations, seed,
                                               frags, n_frags);
                        runs = r < 0 ? -1 : runs + r;
                        if (files)
                                (*files)++;
                }
                free(names[i]);
        }
        free(names);
        return runs;
}

void fuzz_show(const char *what, const char *s, size_t n)
{
        fprintf(stderr, "%s (%zu bytes): ", what, n);
        for (size_t i = 0; i < n && i < 2000; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        fputc(c, stderr);
                else
                        fprintf(stderr, "\\x%02x", c);
        }
        fputc('\n', stderr);
}

static const char *input_harness = "fuzz";
static const char *input_s;
static size_t input_n;

void fuzz_input(const char *harness, const uint8_t *data, size_t size)
{
        input_harness = harness;
        input_s = (const char *)data;
        input_n = size;
}

void fuzz_check(bool ok, const char *fmt, ...)
{
        if (ok)
                return;
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", input_harness);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        fuzz_show("input", input_s, input_n);
        abort();
}

int fuzz_main(fuzz_one_fn one, const char *source_dir, const fuzz_plan_t *p)
{
        uint64_t seed = 88172645463325252ull;
        long files = 0, runs = 0, r;
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", source_dir,
                 p->corpus);
        r = fuzz_run_dir(one, path, p->mutations, &seed, p->frags, p->n_frags,
                         &files);
        runs += r < 0 ? 0 : r;
        if (r >= 0 && p->corpus_plain_too) {
                r = fuzz_run_dir(one, path, p->mutations, &seed, NULL, 0, NULL);
                runs += r < 0 ? 0 : r;
        }
        if (r >= 0 && p->file) {
                snprintf(path, sizeof(path), "%s/%s", source_dir, p->file);
                r = fuzz_run_file(one, path, p->file_mutations, &seed, p->frags,
                                  p->n_frags);
                files += r >= 0;
                runs += r < 0 ? 0 : r;
        }
        if (r >= 0 && p->scenario_file) {
                r = fuzz_run_scenarios(one, source_dir, p->scenario_file,
                                       p->scenario_mutations, &seed, NULL, 0,
                                       &files);
                runs += r < 0 ? 0 : r;
        }
        if (r < 0 || files < 3) {
                fprintf(stderr, "%s: corpus missing\n", p->harness);
                return 1;
        }
        printf("%s: %ld files, %ld inputs: every property holds\n", p->harness,
               files, runs);
        return 0;
}

/*
 * A fuzz harness for every decoder input passes through: the replay
 * envelope (consumers/envelope.c), the record decoder (consumers/record.c)
 * over its JSON parser (consumers/pjson.c), the stored-state parser
 * (engine/store.c) and the dead-letter writer (engine/output.c).
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target
 * (LLVMFuzzerTestOneInput).  Built normally, main() replays a corpus — every
 * line of the public scenarios — and 300 deterministic mutations of each
 * line (byte flips, truncations, insertions of JSON punctuation, UTF-8
 * fragments); under the sanitizer build any memory error fails the test.
 * It asserts that no input crashes and that every verdict is one of the
 * defined dead-letter reasons.
 */
#include "../consumers/envelope.h"
#include "../engine/jw.h"
#include "../engine/output.h"
#include "../engine/store.h"
#include "../rules/jsonv.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static eval_ctx_t *ctx(void)
{
        static policy_t *p;
        static roster_t *r;
        static calendar_t *c;
        static eval_ctx_t x;
        if (!p) {
                char err[512];
                p = policy_load(PATUH_SOURCE_DIR
                                "/rules/balikpapan-se737-2026.json",
                                err, sizeof(err));
                r = roster_load(PATUH_SOURCE_DIR "/deploy/sample/roster.jsonl",
                                err, sizeof(err));
                c = calendar_load_string("{}", "calendar", err, sizeof(err));
                if (!p || !r || !c) {
                        fprintf(stderr, "fuzz: %s\n", err);
                        abort();
                }
                x = (eval_ctx_t){p, c, r};
        }
        return &x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char detail[256];
        record_t rec;
        for (int t = 0; t < TOPIC__COUNT; t++) {
                dlq_reason_t r = record_decode_bytes(
                    (rec_topic_t)t, s, size, &rec, detail, sizeof(detail));
                if (r != DLQ_NONE && r != DLQ_MALFORMED && r != DLQ_INVALID)
                        abort(); /* decoding knows only the form checks */
        }
        envelope_t env;
        dlq_reason_t r = envelope_parse(&env, s, size, detail, sizeof(detail));
        if (r == DLQ_NONE)
                r = envelope_record(&env, &rec, detail, sizeof(detail));
        envelope_free(&env);
        if (r != DLQ_NONE && r != DLQ_MALFORMED && r != DLQ_INVALID)
                abort();
        eval_pub_t pub;
        (void)store_pub_parse(ctx(), s, size, &pub);
        jw_t w;
        jw_init(&w);
        out_dlq_src_t src = {"f", 1, 0, 0, 0, false, PTIME_NEVER};
        out_dlq(&w, ctx(), &src, DLQ_MALFORMED, detail, NULL, s, size);
        /* what we write must be JSON we can read back */
        pj_tok_t tok[64], *heap;
        pj_doc_t d;
        if (!w.oom && !pj_parse_any(&d, w.buf, w.len, tok, 64, &heap))
                abort();
        if (!w.oom)
                free(heap);
        jw_free(&w);
        return 0;
}

#ifndef PATUH_LIBFUZZER
static uint64_t next(uint64_t *x)
{
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

static long run_line(const char *line, size_t n, uint64_t *seed)
{
        static const char *const bits[] = {"\"",
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
                                           "null",
                                           "1e999",
                                           "-0",
                                           "\x00",
                                           "\"at\":",
                                           "\"value\":"};
        char buf[8192];
        long runs = 0;
        if (n > sizeof(buf) - 64)
                n = sizeof(buf) - 64;
        LLVMFuzzerTestOneInput((const uint8_t *)line, n);
        for (int m = 0; m < 300; m++, runs++) {
                memcpy(buf, line, n);
                size_t len = n;
                switch (next(seed) % 4) {
                case 0: /* flip a byte */
                        if (len)
                                buf[next(seed) % len] ^=
                                    (char)(1u << (next(seed) % 8));
                        break;
                case 1: /* truncate */
                        len = len ? next(seed) % len : 0;
                        break;
                case 2: { /* insert a fragment */
                        const char *b =
                            bits[next(seed) % (sizeof(bits) / sizeof(bits[0]))];
                        size_t bl = strlen(b) ? strlen(b) : 1;
                        size_t at = len ? next(seed) % len : 0;
                        memmove(buf + at + bl, buf + at, len - at);
                        memcpy(buf + at, b, bl);
                        len += bl;
                        break;
                }
                default: /* drop a span */
                        if (len > 2) {
                                size_t at = next(seed) % (len - 1);
                                size_t k = 1 + next(seed) % (len - at - 1);
                                memmove(buf + at, buf + at + k, len - at - k);
                                len -= k;
                        }
                }
                LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        }
        return runs;
}

int main(void)
{
        const char *dir = PATUH_SOURCE_DIR "/tests/scenarios";
        DIR *d = opendir(dir);
        if (!d) {
                fprintf(stderr, "fuzz: no corpus at %s\n", dir);
                return 1;
        }
        uint64_t seed = 88172645463325252ull;
        long runs = 0, lines = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char path[1024];
                snprintf(path, sizeof(path), "%s/%s/events.jsonl", dir,
                         de->d_name);
                size_t len, pos = 0, n, line = 0;
                const char *s;
                char *buf = jsonv_slurp(path, &len);
                while (buf && jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                        runs += run_line(s, n, &seed);
                        lines++;
                }
                free(buf);
        }
        closedir(d);
        printf("fuzz_decode: %ld corpus lines, %ld mutated inputs, no "
               "crash\n",
               lines, runs);
        return lines > 0 ? 0 : 1;
}
#endif

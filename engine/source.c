#include "source.h"

#include "../consumers/envelope.h"
#include "../rules/jsonv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Batches in flight: enough for the reader to run ahead over a slow
 * stretch of the evaluator (a day closing) without holding much memory. */
#define SRC_RING 32

struct src {
        const char *const *paths; /* borrowed */
        size_t n_paths;
        const roster_t *roster; /* borrowed, read-only on both threads */
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t filled; /* a batch was handed over */
        pthread_cond_t freed;  /* a batch came back */
        src_batch_t *ring[SRC_RING];
        size_t head;  /* next batch the main thread takes */
        size_t count; /* batches handed over, not yet taken back */
        bool stop;    /* the main thread wants no more */
};

/* ---- reader thread ------------------------------------------------------ */

static bool put_bytes(src_batch_t *b, const char *s, size_t n, uint32_t *off)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 1 << 16;
                while (cap < b->len + n + 1)
                        cap *= 2;
                if (cap > UINT32_MAX)
                        return false;
                char *v = realloc(b->bytes, cap);
                if (!v)
                        return false;
                b->bytes = v;
                b->cap = cap;
        }
        *off = (uint32_t)b->len;
        memcpy(b->bytes + b->len, s, n);
        b->bytes[b->len + n] = '\0';
        b->len += n + 1;
        return true;
}

/* Exactly what replay did with a line before the core saw it: envelope
 * (SPEC §7: the envelope before its value), then the value. */
static bool decode_line(src_t *s, src_batch_t *b, long long lineno,
                        const char *text, size_t n)
{
        src_line_t *l = &b->line[b->n];
        char detail[256] = "";
        envelope_t env;
        memset(&l->rec, 0, sizeof(l->rec));
        l->lineno = lineno;
        dlq_reason_t reason =
            envelope_parse(&env, text, n, detail, sizeof(detail));
        l->env_ok = reason == DLQ_NONE;
        if (reason == DLQ_NONE)
                reason = envelope_record(&env, &l->rec, detail, sizeof(detail));
        if (reason == DLQ_NONE)
                core_hint(s->roster, &l->rec, &l->hint);
        l->reason = (uint8_t)reason;
        l->has_ts = env.has_ts;
        l->ts = env.ts;
        l->topic = (int8_t)env.topic;
        l->malformed_env = env.topic < 0 || !env.value;
        envelope_free(&env);
        if (!put_bytes(b, text, n, &l->raw_off) ||
            !put_bytes(b, detail, strlen(detail), &l->detail_off))
                return false;
        l->raw_len = (uint32_t)n;
        b->n++;
        return true;
}

/* Waits for a free batch; NULL when the main thread stopped us. */
static src_batch_t *take_free(src_t *s)
{
        pthread_mutex_lock(&s->mu);
        while (!s->stop && s->count == SRC_RING)
                pthread_cond_wait(&s->freed, &s->mu);
        src_batch_t *b =
            s->stop ? NULL : s->ring[(s->head + s->count) % SRC_RING];
        pthread_mutex_unlock(&s->mu);
        if (b) {
                b->n = 0;
                b->len = 0;
                b->file_end = false;
                b->status = 0;
                b->errstr[0] = '\0';
                b->last = false;
        }
        return b;
}

static void hand_over(src_t *s)
{
        pthread_mutex_lock(&s->mu);
        s->count++;
        pthread_cond_signal(&s->filled);
        pthread_mutex_unlock(&s->mu);
}

static void *reader(void *arg)
{
        src_t *s = arg;
        char *buf = NULL;
        size_t cap = 0;
        src_batch_t *b = NULL;
        for (size_t i = 0; i < s->n_paths; i++) {
                const char *path = s->paths[i];
                if (!(b = take_free(s)))
                        goto out;
                b->file = i;
                FILE *f = fopen(path, "rb");
                if (!f) {
                        char msg[128];
                        if (strerror_r(errno, msg, sizeof(msg)) != 0)
                                snprintf(msg, sizeof(msg), "error %d", errno);
                        b->file_end = true;
                        b->status = 2;
                        snprintf(b->errstr, sizeof(b->errstr),
                                 "events file %s: %s", path, msg);
                        b->last = true;
                        hand_over(s);
                        goto out;
                }
                long long lineno = 0;
                const char *text;
                size_t n;
                bool oom = false;
                while (jsonv_read_line(f, &buf, &cap, &lineno, &text, &n)) {
                        if (!decode_line(s, b, lineno, text, n)) {
                                oom = true;
                                break;
                        }
                        if (b->n == SRC_BATCH_LINES) {
                                hand_over(s);
                                if (!(b = take_free(s))) {
                                        fclose(f);
                                        goto out;
                                }
                                b->file = i;
                        }
                }
                bool err = ferror(f);
                fclose(f);
                b->file_end = true;
                if (oom || err) {
                        b->status = 1;
                        snprintf(b->errstr, sizeof(b->errstr),
                                 oom ? "out of memory reading %s"
                                     : "events file %s: read error",
                                 path);
                        b->last = true;
                        hand_over(s);
                        goto out;
                }
                b->last = i + 1 == s->n_paths;
                hand_over(s);
        }
        if (s->n_paths == 0 && (b = take_free(s))) {
                b->last = true;
                hand_over(s);
        }
out:
        free(buf);
        return NULL;
}

/* ---- main thread -------------------------------------------------------- */

src_t *src_start(const char *const *paths, size_t n, const roster_t *roster)
{
        src_t *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->paths = paths;
        s->n_paths = n;
        s->roster = roster;
        for (size_t i = 0; i < SRC_RING; i++)
                if (!(s->ring[i] = calloc(1, sizeof(*s->ring[i])))) {
                        for (size_t j = 0; j < i; j++)
                                free(s->ring[j]);
                        free(s);
                        return NULL;
                }
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->filled, NULL);
        pthread_cond_init(&s->freed, NULL);
        if (pthread_create(&s->thread, NULL, reader, s) != 0) {
                pthread_cond_destroy(&s->freed);
                pthread_cond_destroy(&s->filled);
                pthread_mutex_destroy(&s->mu);
                for (size_t i = 0; i < SRC_RING; i++)
                        free(s->ring[i]);
                free(s);
                return NULL;
        }
        return s;
}

const src_batch_t *src_next(src_t *s)
{
        pthread_mutex_lock(&s->mu);
        while (s->count == 0)
                pthread_cond_wait(&s->filled, &s->mu);
        src_batch_t *b = s->ring[s->head];
        pthread_mutex_unlock(&s->mu);
        return b;
}

void src_done(src_t *s)
{
        pthread_mutex_lock(&s->mu);
        s->head = (s->head + 1) % SRC_RING;
        s->count--;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->mu);
}

void src_stop(src_t *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        pthread_cond_destroy(&s->freed);
        pthread_cond_destroy(&s->filled);
        pthread_mutex_destroy(&s->mu);
        for (size_t i = 0; i < SRC_RING; i++) {
                free(s->ring[i]->bytes);
                free(s->ring[i]);
        }
        free(s);
}

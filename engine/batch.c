#include "batch.h"

#include "../rules/roster.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const out_names[BATCH_OUT__COUNT] = {
    "violations", "tpp", "alerts", "digests", "dlq"};

const char *batch_out_name(batch_out_t out)
{
        return out_names[out];
}

batch_out_t batch_out_of_core(core_out_t out)
{
        return out == CORE_OUT_REVISION ? BATCH_OUT_VIOLATIONS
               : out == CORE_OUT_TPP    ? BATCH_OUT_TPP
               : out == CORE_OUT_DIGEST ? BATCH_OUT_DIGESTS
                                        : BATCH_OUT_ALERTS;
}

/* ---- the batch's arena ----------------------------------------------------
 * Every string and small array of a batch lives in blocks the batch owns,
 * freed all at once when it is cleared: a batch of 10,000 records makes
 * ~40,000 allocations otherwise, and malloc/free were a fifth of patuhd's
 * CPU (bench/live, perf).  Blocks are kept for the next batch. */

#define ARENA_BLOCK (1u << 20)

typedef struct arena_block {
        struct arena_block *next;
        size_t used, cap;
        max_align_t data[]; /* cap bytes */
} arena_block_t;

static void *arena_alloc(batch_t *b, size_t n)
{
        n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
        arena_block_t *a = b->arena;
        if (!a || a->used + n > a->cap) {
                /* a kept block with room, else a new one */
                arena_block_t **pp = &b->spare;
                while (*pp && (*pp)->cap < n)
                        pp = &(*pp)->next;
                arena_block_t *nb = *pp;
                if (nb) {
                        *pp = nb->next;
                } else {
                        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
                        nb = malloc(sizeof(*nb) + cap);
                        if (!nb)
                                return NULL;
                        nb->cap = cap;
                }
                nb->used = 0;
                nb->next = a;
                b->arena = a = nb;
        }
        void *p = (char *)a->data + a->used;
        a->used += n;
        return p;
}

static char *dup_n(batch_t *b, const char *s, size_t n)
{
        char *d = arena_alloc(b, n + 1);
        if (d) {
                memcpy(d, s, n);
                d[n] = '\0';
        }
        return d;
}

/* strlcpy: once per accepted record and field, so no printf. */
static void copy_id(char *dst, size_t n, const char *src)
{
        size_t l = strlen(src);
        if (l >= n)
                l = n - 1;
        memcpy(dst, src, l);
        dst[l] = '\0';
}

static bool grow(void **v, size_t *cap, size_t n, size_t elem)
{
        if (n < *cap)
                return true;
        size_t nc = *cap ? *cap * 2 : 64;
        void *nv = realloc(*v, nc * elem);
        if (!nv)
                return false;
        *v = nv;
        *cap = nc;
        return true;
}

bool batch_add_out(batch_t *b, batch_out_t out, const char *key, size_t key_len,
                   const char *json, size_t len, int32_t revision)
{
        if (!grow((void **)&b->outs, &b->cap_outs, b->n_outs, sizeof(*b->outs)))
                return false;
        out_item_t *o = &b->outs[b->n_outs++];
        o->out = out;
        o->key = dup_n(b, key ? key : "", key ? key_len : 0);
        o->key_len = key ? key_len : 0;
        o->json = dup_n(b, json, len);
        o->len = len;
        o->revision = revision;
        return o->key && o->json;
}

bool batch_add_record(batch_t *b, rec_topic_t topic, int32_t emp,
                      int32_t unit_ix, const char *unit, int32_t day,
                      const char *record_id, int32_t partition, int64_t offset,
                      const char *frame, size_t frame_len, const char *env,
                      size_t env_len)
{
        if (!grow((void **)&b->recs, &b->cap_recs, b->n_recs, sizeof(*b->recs)))
                return false;
        rec_item_t *r = &b->recs[b->n_recs];
        /* one allocation: frame, then the NUL-terminated envelope and
         * record id */
        size_t id_len = strlen(record_id);
        r->frame = arena_alloc(b, frame_len + env_len + 1 + id_len + 1);
        if (!r->frame)
                return false;
        memcpy(r->frame, frame, frame_len);
        r->frame_len = frame_len;
        r->env = r->frame + frame_len;
        memcpy(r->env, env, env_len);
        r->env[env_len] = '\0';
        r->env_len = env_len;
        char *id = r->env + env_len + 1;
        memcpy(id, record_id, id_len + 1);
        r->record_id = id;
        r->topic = topic;
        r->emp = emp;
        r->unit_ix = unit_ix;
        r->unit = unit;
        r->day = day;
        r->partition = partition;
        r->offset = offset;
        r->seq = b->n_recs;
        b->n_recs++;
        return true;
}

bool batch_touch(batch_t *b, int32_t emp, int32_t day)
{
        for (size_t i = b->n_touched; i-- > 0 && i + 8 >= b->n_touched;)
                if (b->touched[i].emp == emp && b->touched[i].day == day)
                        return true; /* common case: the same day again */
        if (!grow((void **)&b->touched, &b->cap_touched, b->n_touched,
                  sizeof(*b->touched)))
                return false;
        b->touched[b->n_touched++] = (touched_t){emp, day};
        return true;
}

bool batch_add_offset(batch_t *b, int topic, int32_t partition, int64_t offset)
{
        if (!grow((void **)&b->offs, &b->cap_offs, b->n_offs, sizeof(*b->offs)))
                return false;
        b->offs[b->n_offs++] = (off_item_t){topic, partition, offset};
        return true;
}

static int touched_cmp(const void *a, const void *b)
{
        const touched_t *x = a, *y = b;
        if (x->emp != y->emp)
                return x->emp < y->emp ? -1 : 1;
        return x->day < y->day ? -1 : x->day > y->day;
}

/* One employee-day's ledger as HSET arguments of its unit-day hash:
 * "E|kind|subject" -> publication, and "E|!alerted" -> 1 once
 * not_clocked_in went out. */
static bool snapshot_ledger(batch_t *b, led_item_t *d, const core_t *core,
                            const eval_ctx_t *ctx, jw_t *w, int32_t emp,
                            int32_t day)
{
        const roster_emp_t *re = &ctx->roster->emp[emp];
        copy_id(d->unit, sizeof(d->unit), re->unit_id);
        d->day = day;
        const eval_ledger_t *led = core_ledger(core, emp, day);
        size_t n = (led ? led->n : 0) * 2 + 2;
        d->strs = arena_alloc(b, n * sizeof(*d->strs));
        d->lens = arena_alloc(b, n * sizeof(*d->lens));
        if (!d->strs || !d->lens)
                return false;
        for (size_t j = 0; led && j < led->n; j++) {
                const eval_pub_t *p = &led->v[j];
                char field[2 * EVAL_ID_MAX + 40];
                size_t fl = store_ledger_field(re->employee_id, p, field,
                                               sizeof(field));
                d->strs[d->n] = dup_n(b, field, fl);
                d->lens[d->n++] = fl;
                store_pub(w, ctx, p);
                d->strs[d->n] = dup_n(b, w->buf, w->len);
                d->lens[d->n++] = w->len;
                bool oom = w->oom;
                jw_reset(w);
                if (!d->strs[d->n - 2] || !d->strs[d->n - 1] || oom)
                        return false;
        }
        if (core_alerted(core, emp, day)) {
                char field[EVAL_ID_MAX + 16];
                size_t fl = store_ledger_field(re->employee_id, NULL, field,
                                               sizeof(field));
                d->strs[d->n] = dup_n(b, field, fl);
                d->lens[d->n++] = fl;
                d->strs[d->n] = dup_n(b, "1", 1);
                d->lens[d->n++] = 1;
                if (!d->strs[d->n - 2] || !d->strs[d->n - 1])
                        return false;
        }
        return true;
}

/* By unit, day, arrival: integers only (the sinks group by it). */
static const rec_item_t *g_recs; /* qsort has no argument: set per call */
static int order_cmp(const void *a, const void *b)
{
        const rec_item_t *x = &g_recs[*(const size_t *)a],
                         *y = &g_recs[*(const size_t *)b];
        if (x->unit_ix != y->unit_ix)
                return x->unit_ix < y->unit_ix ? -1 : 1;
        if (x->day != y->day)
                return x->day < y->day ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One stable counting pass: the indices of `from` into `to` by key[i]
 * (0..span-1); count has span + 1 zeroed slots. */
static void count_pass(const size_t *from, size_t *to, size_t n,
                       const uint32_t *key, size_t *count, size_t span)
{
        for (size_t i = 0; i < n; i++)
                count[key[from[i]] + 1]++;
        for (size_t k = 1; k <= span; k++)
                count[k] += count[k - 1];
        for (size_t i = 0; i < n; i++)
                to[count[key[from[i]]]++] = from[i];
}

/*
 * The same order as order_cmp, in linear time: records are appended in
 * arrival order (seq is their index), so two stable counting passes, by
 * day and then by unit, give unit, day, arrival.  A batch spans a few
 * days and the roster's units; qsort with a comparator over 10,000
 * records was ~2 % of the loop's thread (perf, bench/live).  False (and
 * b->order untouched beyond its allocation) when the keys are too spread
 * for small count arrays, or memory is short: order_cmp does it then.
 */
#define ORDER_SPAN_MAX (1u << 20)
static bool order_by_counts(batch_t *b)
{
        size_t n = b->n_recs;
        int32_t dmin = INT32_MAX, dmax = INT32_MIN, umax = 0;
        for (size_t i = 0; i < n; i++) {
                const rec_item_t *r = &b->recs[i];
                if (r->unit_ix < 0)
                        return false;
                if (r->unit_ix > umax)
                        umax = r->unit_ix;
                if (r->day == INT32_MIN)
                        continue; /* an excuse: before every day */
                if (r->day < dmin)
                        dmin = r->day;
                if (r->day > dmax)
                        dmax = r->day;
        }
        size_t dspan = dmin <= dmax ? (size_t)((int64_t)dmax - dmin) + 2 : 1;
        size_t uspan = (size_t)umax + 1;
        if (n == 0 || dspan > ORDER_SPAN_MAX || uspan > ORDER_SPAN_MAX)
                return false;
        size_t span = dspan > uspan ? dspan : uspan;
        size_t *tmp = malloc(n * sizeof(*tmp));
        uint32_t *key = malloc(n * sizeof(*key));
        size_t *count = malloc((span + 1) * sizeof(*count));
        bool ok = tmp && key && count;
        if (ok) {
                for (size_t i = 0; i < n; i++) {
                        int32_t d = b->recs[i].day;
                        key[i] = d == INT32_MIN
                                     ? 0
                                     : (uint32_t)((int64_t)d - dmin + 1);
                        b->order[i] = i;
                }
                memset(count, 0, (dspan + 1) * sizeof(*count));
                count_pass(b->order, tmp, n, key, count, dspan);
                for (size_t i = 0; i < n; i++)
                        key[i] = (uint32_t)b->recs[i].unit_ix;
                memset(count, 0, (uspan + 1) * sizeof(*count));
                count_pass(tmp, b->order, n, key, count, uspan);
        }
        free(tmp);
        free(key);
        free(count);
        return ok;
}

bool batch_order(batch_t *b)
{
        free(b->order);
        b->order = malloc((b->n_recs ? b->n_recs : 1) * sizeof(*b->order));
        if (!b->order)
                return false;
        if (!order_by_counts(b)) {
                for (size_t i = 0; i < b->n_recs; i++)
                        b->order[i] = i;
                g_recs = b->recs;
                qsort(b->order, b->n_recs, sizeof(*b->order), order_cmp);
        }
        return true;
}

bool batch_close(batch_t *b, const core_t *core, const eval_ctx_t *ctx, jw_t *w)
{
        if (!batch_order(b))
                return false;
        if (b->n_touched)
                qsort(b->touched, b->n_touched, sizeof(*b->touched),
                      touched_cmp);
        b->leds = calloc(b->n_touched ? b->n_touched : 1, sizeof(*b->leds));
        if (!b->leds)
                return false;
        for (size_t i = 0; i < b->n_touched; i++) {
                if (i && !touched_cmp(&b->touched[i - 1], &b->touched[i]))
                        continue;
                led_item_t *d = &b->leds[b->n_leds++];
                if (!snapshot_ledger(b, d, core, ctx, w, b->touched[i].emp,
                                     b->touched[i].day))
                        return false;
        }
        ptime_t wm = core_watermark(core);
        b->has_wm = ptime_cmp(wm, PTIME_NEVER) != 0;
        b->wm = wm;
        b->outage = core_outage_cursor(core);
        return true;
}

bool batch_empty(const batch_t *b)
{
        return !b->n_outs && !b->n_recs && !b->n_touched && !b->n_msgs;
}

size_t batch_pg_rows(const batch_t *b)
{
        size_t n = 0;
        for (size_t i = 0; i < b->n_outs; i++)
                n += b->outs[i].out != BATCH_OUT_ALERTS;
        return n + b->n_recs;
}

void batch_clear(batch_t *b)
{
        /* the arena's blocks go back to the spares, in one piece each */
        while (b->arena) {
                arena_block_t *a = b->arena;
                b->arena = a->next;
                a->next = b->spare;
                b->spare = a;
        }
        free(b->leds);
        b->leds = NULL;
        free(b->order);
        b->order = NULL;
        free(b->ckpt);
        b->ckpt = NULL;
        b->ckpt_len = 0;
        free(b->ckpt_w);
        b->ckpt_w = NULL;
        free(b->ckpt_ep);
        b->ckpt_ep = NULL;
        free(b->ckpt_live);
        b->ckpt_live = NULL;
        b->n_ckpt_w = 0;
        b->n_outs = b->n_recs = b->n_touched = b->n_leds = b->n_offs = 0;
        b->n_msgs = 0;
        b->has_wm = false;
}

void batch_free(batch_t *b)
{
        batch_clear(b);
        while (b->spare) {
                arena_block_t *a = b->spare;
                b->spare = a->next;
                free(a);
        }
        free(b->outs);
        free(b->recs);
        free(b->touched);
        free(b->offs);
}

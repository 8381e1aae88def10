#include "core.h"

#include "../rules/strmap.h"
#include "../rules/tz.h"
#include "jw.h"
#include "output.h"

#include <stdlib.h>
#include <string.h>

/* What only some employee-days have: calls, and a published decision
 * (bench/live: one day in four or five).  Lives in the core's
 * more_chunks. */
typedef struct day_more {
        const eval_call_t **calls; /* owned array; calls live in arena */
        uint32_t n_calls, cap_calls;
        eval_ledger_t ledger; /* what was published */
} day_more_t;

/* State of one employee-day.  Lives in the core's day_chunks.  Every
 * presence record makes one (half a million a month), so it holds only
 * what every day has: 96 bytes instead of 128 with the rest inline. */
typedef struct day_state {
        int32_t day;
        bool alerted;     /* not_clocked_in already raised */
        eval_att_t att;   /* presence summary */
        day_more_t *more; /* NULL: no calls, nothing published */
} day_state_t;

typedef struct emp_state {
        /* The employee's days in the order they were first touched (for
         * walking them); finding one goes through the day_slot of its
         * date instead. */
        day_state_t **days; /* owned array */
        uint32_t n_days, cap_days;
        const eval_excuse_t **ex; /* owned array of owned versions */
        uint32_t n_ex, cap_ex;
} emp_state_t;

typedef struct date_info {
        int32_t day;
        bool in_service;
        bool closed;         /* its close fired: digest rows are published */
        bool dirty_any;      /* some unit's row may have changed */
        uint8_t *dirty;      /* owned, n_units flags (NULL until needed) */
        digest_row_t *shown; /* owned, n_units: rows last published */
        bool *has_shown;     /* owned, n_units */
} date_info_t;

enum timer_type { T_CLOSE, T_ALERT, T_CALL };

typedef struct timer {
        ptime_t due;
        int type;
        int32_t emp;
        int32_t day;
} timer_t_;

/* The states of one date by roster row, so that finding (emp, day) is a
 * binary search over the few dates and one load rather than a walk over
 * the employee's days, which misses the cache at every step. */
typedef struct day_slot {
        int32_t day;
        day_state_t **by_emp; /* owned, roster->n entries, NULL: no state */
} day_slot_t;

typedef struct day_chunk {
        struct day_chunk *next;
        size_t used;
        day_state_t v[256];
} day_chunk_t;

typedef struct more_chunk {
        struct more_chunk *next;
        size_t used;
        day_more_t v[256];
} more_chunk_t;

typedef struct call_chunk {
        struct call_chunk *next;
        size_t used;
        eval_call_t v[1024];
} call_chunk_t;

struct core {
        const eval_ctx_t *ctx;  /* borrowed */
        const roster_t *roster; /* = ctx->roster */
        const policy_t *policy; /* = ctx->policy */
        core_sink_t sink;
        emp_state_t *emps; /* owned, one per roster row */
        day_slot_t *slots; /* owned, sorted by day */
        size_t n_slots, cap_slots;
        day_chunk_t *day_chunks;   /* owned arena of every day_state */
        more_chunk_t *more_chunks; /* owned arena of every day_more */
        /* Units (roster unit_id) for the digests: unit_of[row] is the
         * unit's index; unit_members[unit_start[u] .. unit_start[u+1])
         * are its roster rows in roster order. */
        int32_t *unit_of;      /* owned */
        int32_t *unit_members; /* owned */
        size_t *unit_start;    /* owned, n_units + 1 */
        size_t n_units;
        bool digest_dirty;  /* some date has a dirty unit */
        digest_row_t drow;  /* scratch row */
        date_info_t *dates; /* owned, sorted by day */
        size_t n_dates, cap_dates;
        timer_t_ *heap; /* owned min-heap by due */
        size_t n_heap, cap_heap;
        strmap_t *seen[TOPIC__COUNT]; /* accepted event_ids / call_ids */
        strmap_t *ids;       /* restored ledger entries' strings (own_id) */
        call_chunk_t *calls; /* owned arena */
        ptime_t wm;          /* watermark the rules see */
        ptime_t wm_shown;    /* last finite watermark (decided_at) */
        /* The arrival time of the record being admitted, if later than
         * the watermark: a decision made on arrival (late_clock_in,
         * wfh_not_permitted, amendments) is dated when its evidence
         * arrived.  Replay moves the watermark to each record first, so
         * both drivers date the same decision alike. */
        ptime_t admit_ts;
        bool admitting;
        /* The time the timer being fired fell due: a decision the wall
         * clock or the end of input fires (the watermark ahead of every
         * record read) is dated then, not at the last record before it
         * nor at the clock that happened to find it (core.h). */
        ptime_t fire_due;
        bool firing;
        bool has_wm;
        eval_list_t scratch;
        const eval_call_t **call_buf;
        size_t cap_call_buf;
        jw_t w;              /* output being written */
        int32_t outage_next; /* first day not yet checked for
                                no_presence_data (live) */
        bool restoring;      /* admitting stored records: facts only */
        int32_t floor;       /* a reload's restore: days before it keep
                                their decisions (INT32_MIN otherwise) */
        bool failed;         /* out of memory */
        /* Scale-out (docs/scale-out.md): which units this instance
         * decides for.  owned[u] false: the unit's records are admitted
         * as facts (days in service, a caller's excuses, duplicates) but
         * nothing about its employees is evaluated, alerted or digested:
         * another instance decides for them.  All true by default. */
        bool *owned;  /* owned, n_units */
        bool outages; /* this instance raises no_presence_data */
        core_stats_t st;
};

/* ---- small containers -------------------------------------------------- */

static bool grow(void **v, uint32_t *cap, size_t elem)
{
        uint32_t nc = *cap ? *cap * 2 : 4;
        void *nv = realloc(*v, (size_t)nc * elem);
        if (!nv)
                return false;
        *v = nv;
        *cap = nc;
        return true;
}

static day_slot_t *slot_find(const core_t *c, int32_t day)
{
        size_t lo = 0, hi = c->n_slots;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (c->slots[mid].day < day)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < c->n_slots && c->slots[lo].day == day ? &c->slots[lo]
                                                          : NULL;
}

static day_slot_t *slot_get(core_t *c, int32_t day)
{
        day_slot_t *sl = slot_find(c, day);
        if (sl)
                return sl;
        if (c->n_slots == c->cap_slots) {
                size_t nc = c->cap_slots ? c->cap_slots * 2 : 64;
                day_slot_t *v = realloc(c->slots, nc * sizeof(*v));
                if (!v)
                        return NULL;
                c->slots = v;
                c->cap_slots = nc;
        }
        day_state_t **by_emp =
            calloc(c->roster->n ? c->roster->n : 1, sizeof(*by_emp));
        if (!by_emp)
                return NULL;
        size_t i = c->n_slots;
        while (i > 0 && c->slots[i - 1].day > day) {
                c->slots[i] = c->slots[i - 1];
                i--;
        }
        c->slots[i] = (day_slot_t){day, by_emp};
        c->n_slots++;
        return &c->slots[i];
}

static day_state_t *day_find(const core_t *c, int32_t emp, int32_t day)
{
        const day_slot_t *sl = slot_find(c, day);
        return sl ? sl->by_emp[emp] : NULL;
}

/* Loops over many employees of one date read states scattered over the
 * chunks: ask for the one a few rows ahead (its first two lines). */
#define PREFETCH_AHEAD 8

static void day_prefetch(const day_slot_t *sl, int32_t emp)
{
        const day_state_t *ds = sl ? sl->by_emp[emp] : NULL;
        if (ds) {
                __builtin_prefetch(ds);
                __builtin_prefetch((const char *)ds + 64);
        }
}

static day_state_t *day_get(core_t *c, int32_t emp, int32_t day)
{
        emp_state_t *es = &c->emps[emp];
        day_slot_t *sl = slot_get(c, day);
        if (!sl)
                goto oom;
        day_state_t *ds = sl->by_emp[emp];
        if (ds)
                return ds;
        if (es->n_days == es->cap_days &&
            !grow((void **)&es->days, &es->cap_days, sizeof(*es->days)))
                goto oom;
        if (!c->day_chunks || c->day_chunks->used == 256) {
                day_chunk_t *ch = calloc(1, sizeof(*ch));
                if (!ch)
                        goto oom;
                ch->next = c->day_chunks;
                c->day_chunks = ch;
        }
        ds = &c->day_chunks->v[c->day_chunks->used++];
        ds->day = day;
        es->days[es->n_days++] = ds;
        sl->by_emp[emp] = ds;
        return ds;
oom:
        c->failed = true;
        return NULL;
}

static const eval_ledger_t NO_LEDGER;

/* The ledger of a day that has a state (empty when nothing was
 * published). */
static const eval_ledger_t *ledger_of(const day_state_t *ds)
{
        return ds->more ? &ds->more->ledger : &NO_LEDGER;
}

static uint32_t n_calls_of(const day_state_t *ds)
{
        return ds && ds->more ? ds->more->n_calls : 0;
}

/* The day's calls and ledger, made when first needed. */
static day_more_t *more_get(core_t *c, day_state_t *ds)
{
        if (ds->more)
                return ds->more;
        if (!c->more_chunks || c->more_chunks->used == 256) {
                more_chunk_t *ch = calloc(1, sizeof(*ch));
                if (!ch) {
                        c->failed = true;
                        return NULL;
                }
                ch->next = c->more_chunks;
                c->more_chunks = ch;
        }
        return ds->more = &c->more_chunks->v[c->more_chunks->used++];
}

static date_info_t *date_find(const core_t *c, int32_t day)
{
        size_t lo = 0, hi = c->n_dates;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (c->dates[mid].day < day)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < c->n_dates && c->dates[lo].day == day ? &c->dates[lo]
                                                          : NULL;
}

static bool in_service(const core_t *c, int32_t day)
{
        const date_info_t *d = date_find(c, day);
        return d && d->in_service;
}

static date_info_t *date_add(core_t *c, int32_t day)
{
        if (c->n_dates == c->cap_dates) {
                size_t nc = c->cap_dates ? c->cap_dates * 2 : 64;
                date_info_t *v = realloc(c->dates, nc * sizeof(*v));
                if (!v) {
                        c->failed = true;
                        return NULL;
                }
                c->dates = v;
                c->cap_dates = nc;
        }
        size_t i = c->n_dates;
        while (i > 0 && c->dates[i - 1].day > day) {
                c->dates[i] = c->dates[i - 1];
                i--;
        }
        c->dates[i] = (date_info_t){.day = day};
        c->n_dates++;
        return &c->dates[i];
}

static void timer_push(core_t *c, ptime_t due, int type, int32_t emp,
                       int32_t day)
{
        if (c->n_heap == c->cap_heap) {
                size_t nc = c->cap_heap ? c->cap_heap * 2 : 256;
                timer_t_ *v = realloc(c->heap, nc * sizeof(*v));
                if (!v) {
                        c->failed = true;
                        return;
                }
                c->heap = v;
                c->cap_heap = nc;
        }
        size_t i = c->n_heap++;
        c->heap[i] = (timer_t_){due, type, emp, day};
        while (i > 0) {
                size_t up = (i - 1) / 2;
                if (ptime_cmp(c->heap[up].due, c->heap[i].due) <= 0)
                        break;
                timer_t_ t = c->heap[up];
                c->heap[up] = c->heap[i];
                c->heap[i] = t;
                i = up;
        }
}

static timer_t_ timer_pop(core_t *c)
{
        timer_t_ top = c->heap[0];
        c->heap[0] = c->heap[--c->n_heap];
        size_t i = 0;
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < c->n_heap &&
                    ptime_cmp(c->heap[l].due, c->heap[m].due) < 0)
                        m = l;
                if (r < c->n_heap &&
                    ptime_cmp(c->heap[r].due, c->heap[m].due) < 0)
                        m = r;
                if (m == i)
                        break;
                timer_t_ t = c->heap[m];
                c->heap[m] = c->heap[i];
                c->heap[i] = t;
                i = m;
        }
        return top;
}

/* ---- digests ----------------------------------------------------------- */

static void emit(core_t *c, core_out_t out, const char *key,
                 const eval_pub_t *p);

/* The digest row of unit u on day may have changed (E's presence,
 * excuses or decisions on it moved).  Days not in service have no rows;
 * days not yet closed are published whole when they close. */
static void digest_touch(core_t *c, int32_t emp, int32_t day)
{
        date_info_t *d = date_find(c, day);
        if (!d || !d->closed)
                return;
        if (!d->dirty && !(d->dirty = calloc(c->n_units, 1))) {
                c->failed = true;
                return;
        }
        d->dirty[c->unit_of[emp]] = 1;
        d->dirty_any = true;
        c->digest_dirty = true;
}

static void digest_close(core_t *c, int32_t day)
{
        date_info_t *d = date_find(c, day);
        if (!d)
                return;
        if (!d->dirty && !(d->dirty = calloc(c->n_units, 1))) {
                c->failed = true;
                return;
        }
        d->closed = true;
        memset(d->dirty, 1, c->n_units);
        d->dirty_any = true;
        c->digest_dirty = true;
}

/* The row of unit u on day, from the state as it stands.  r is a row
 * already initialized (zeroed or used): its violators buffer is reused,
 * not dropped (c->drow is filled again for every unit and day). */
static bool unit_row(const core_t *c, int32_t day, size_t u, digest_row_t *r)
{
        int32_t *violators = r->violators;
        size_t cap = r->cap_violators;
        digest_row_init(r, day, c->unit_members[c->unit_start[u]]);
        r->violators = violators;
        r->cap_violators = cap;
        const day_slot_t *sl = slot_find(c, day);
        size_t end = c->unit_start[u + 1];
        for (size_t i = c->unit_start[u]; i < end; i++) {
                int32_t emp = c->unit_members[i];
                if (i + PREFETCH_AHEAD < end)
                        day_prefetch(sl, c->unit_members[i + PREFETCH_AHEAD]);
                const emp_state_t *es = &c->emps[emp];
                const day_state_t *ds = day_find(c, emp, day);
                digest_emp_t e = {emp, ds ? &ds->att : NULL,
                                  (eval_excuses_t){es->ex, es->n_ex},
                                  ds ? ledger_of(ds) : NULL};
                if (!digest_row_add(c->ctx, r, &e))
                        return false;
        }
        digest_row_finish(r);
        return true;
}

static bool units_build(core_t *c)
{
        const roster_t *r = c->roster;
        strmap_t *ids = strmap_new();
        size_t n = r->n ? r->n : 1;
        c->unit_of = malloc(n * sizeof(*c->unit_of));
        c->unit_members = malloc(n * sizeof(*c->unit_members));
        c->unit_start = calloc(n + 1, sizeof(*c->unit_start));
        bool ok = ids && c->unit_of && c->unit_members && c->unit_start;
        for (size_t e = 0; ok && e < r->n; e++) {
                const char *u = r->emp[e].unit_id;
                int32_t v =
                    strmap_put(ids, u, strlen(u), (int32_t)c->n_units, NULL);
                ok = v != INT32_MIN;
                if (ok && (size_t)v == c->n_units)
                        c->n_units++;
                if (ok) {
                        c->unit_of[e] = v;
                        c->unit_start[v + 1]++;
                }
        }
        strmap_free(ids);
        if (!ok)
                return false;
        for (size_t u = 0; u < c->n_units; u++)
                c->unit_start[u + 1] += c->unit_start[u];
        size_t *fill = calloc(c->n_units ? c->n_units : 1, sizeof(*fill));
        if (!fill)
                return false;
        for (size_t e = 0; e < r->n; e++) {
                size_t u = (size_t)c->unit_of[e];
                c->unit_members[c->unit_start[u] + fill[u]++] = (int32_t)e;
        }
        free(fill);
        return true;
}

void core_flush_digests(core_t *c)
{
        if (!c->digest_dirty || c->failed)
                return;
        c->digest_dirty = false;
        for (size_t di = 0; di < c->n_dates; di++) {
                date_info_t *d = &c->dates[di];
                if (!d->dirty_any)
                        continue;
                d->dirty_any = false;
                if (!digest_day_reported(c->ctx, d->day, d->in_service)) {
                        memset(d->dirty, 0, c->n_units);
                        continue;
                }
                if (!d->shown &&
                    (!(d->shown = calloc(c->n_units, sizeof(*d->shown))) ||
                     !(d->has_shown =
                           calloc(c->n_units, sizeof(*d->has_shown))))) {
                        c->failed = true;
                        return;
                }
                for (size_t u = 0; u < c->n_units; u++) {
                        if (!d->dirty[u])
                                continue;
                        d->dirty[u] = 0;
                        if (!c->owned[u])
                                continue; /* its owner publishes it */
                        digest_row_t *r = &c->drow;
                        if (!unit_row(c, d->day, u, r)) {
                                c->failed = true;
                                return;
                        }
                        /* a unit nobody was expected in has no row, unless
                         * it had one to take back */
                        if (d->has_shown[u] ? digest_row_equal(r, &d->shown[u])
                                            : r->expected == 0)
                                continue;
                        out_digest(&c->w, c->ctx, r);
                        emit(c, CORE_OUT_DIGEST,
                             c->roster->emp[r->unit_emp].unit_id, NULL);
                        if (!digest_row_copy(&d->shown[u], r)) {
                                c->failed = true;
                                return;
                        }
                        d->has_shown[u] = true;
                }
        }
}

static int digest_cmp(const void *a, const void *b, void *roster);

long core_digest_rows(const core_t *c, digest_row_t **out)
{
        size_t n = 0, cap = 0;
        digest_row_t *rows = NULL;
        digest_row_t r = {0};
        for (size_t di = 0; di < c->n_dates; di++) {
                const date_info_t *d = &c->dates[di];
                if (!digest_day_reported(c->ctx, d->day, d->in_service))
                        continue;
                /* A closed date nothing touched since the last flush holds
                 * its rows as they were last published (a unit without
                 * one has nobody expected): the flush keeps it so. */
                bool as_shown = d->closed && !d->dirty_any && d->shown;
                for (size_t u = 0; u < c->n_units; u++) {
                        memset(&r, 0, sizeof(r));
                        if (as_shown) {
                                if (!d->has_shown[u])
                                        continue;
                                if (!digest_row_copy(&r, &d->shown[u]))
                                        goto oom;
                        } else if (!unit_row(c, d->day, u, &r)) {
                                goto oom;
                        }
                        if (r.expected == 0) {
                                digest_row_free(&r);
                                continue;
                        }
                        if (n == cap) {
                                cap = cap ? cap * 2 : 64;
                                digest_row_t *nr =
                                    realloc(rows, cap * sizeof(*nr));
                                if (!nr)
                                        goto oom;
                                rows = nr;
                        }
                        rows[n++] = r; /* the row's violators move with it */
                }
        }
        /* dates are in day order and each date's units in roster order:
         * sort each date's run by unit_id */
        for (size_t i = 0, j; i < n; i = j) {
                for (j = i + 1; j < n && rows[j].day == rows[i].day; j++)
                        ;
                for (size_t a = i + 1; a < j; a++) {
                        digest_row_t t = rows[a];
                        size_t b = a;
                        while (b > i && digest_cmp(&rows[b - 1], &t,
                                                   (void *)c->roster) > 0) {
                                rows[b] = rows[b - 1];
                                b--;
                        }
                        rows[b] = t;
                }
        }
        *out = rows;
        return (long)n;
oom:
        digest_row_free(&r);
        core_digest_rows_free(rows, (long)n);
        return -1;
}

void core_digest_rows_free(digest_row_t *rows, long n)
{
        for (long i = 0; i < n; i++)
                digest_row_free(&rows[i]);
        free(rows);
}

/* ---- output ------------------------------------------------------------ */

static void emit(core_t *c, core_out_t out, const char *key,
                 const eval_pub_t *p)
{
        if (c->w.oom)
                c->failed = true;
        else
                c->sink.emit(c->sink.ud, out, key, c->w.buf, c->w.len, p);
        jw_reset(&c->w);
}

static ptime_t decision_time(const core_t *c)
{
        ptime_t t = c->wm_shown;
        if (c->admitting && ptime_cmp(c->admit_ts, t) > 0)
                t = c->admit_ts;
        if (c->firing && ptime_cmp(c->fire_due, t) > 0)
                t = c->fire_due;
        return t;
}

static void publish(core_t *c, int32_t emp, int32_t day, eval_pub_t *p)
{
        const roster_emp_t *e = &c->roster->emp[emp];
        if (!p->violation_id[0])
                out_violation_id(c->ctx, emp, day, &p->d, p->violation_id);
        p->decided_at = decision_time(c);
        out_violation(&c->w, c->ctx, emp, day, p);
        emit(c, CORE_OUT_REVISION, p->violation_id, p);
        c->st.revisions++;
        if (eval_pub_tpp_event(p)) {
                out_tpp(&c->w, c->ctx, emp, day, p);
                emit(c, CORE_OUT_TPP, e->employee_id, p);
                p->tpp_sent = true;
        }
        if (eval_pub_alert(p)) {
                out_alert_violation(&c->w, c->ctx, emp, day, p, p->decided_at);
                emit(c, CORE_OUT_ALERT, eval_alert_recipient(c->roster, emp),
                     p);
                c->st.alerts++;
        }
        digest_touch(c, emp, day);
        if (c->sink.touched)
                c->sink.touched(c->sink.ud, emp, day);
}

/* ---- evaluation -------------------------------------------------------- */

static eval_excuses_t excuses_of(void *ud, int32_t emp)
{
        const core_t *c = ud;
        const emp_state_t *es = &c->emps[emp];
        return (eval_excuses_t){es->ex, es->n_ex};
}

/* Re-evaluates (emp, day) against the current watermark and publishes
 * whatever changed. */
static void evaluate(core_t *c, int32_t emp, int32_t day)
{
        if (c->restoring)
                return; /* core_restore_end() evaluates everything once */
        if (day < c->floor)
                return; /* past the amend horizon of a reload */
        if (!c->owned[c->unit_of[emp]])
                return; /* another instance decides for this unit */
        emp_state_t *es = &c->emps[emp];
        day_state_t *ds = day_find(c, emp, day);
        day_state_t *next = day_find(c, emp, day + 1);
        size_t nc = n_calls_of(ds) + n_calls_of(next);
        if (nc > c->cap_call_buf) {
                size_t cap = nc * 2;
                const eval_call_t **b = realloc(c->call_buf, cap * sizeof(*b));
                if (!b) {
                        c->failed = true;
                        return;
                }
                c->call_buf = b;
                c->cap_call_buf = cap;
        }
        size_t k = 0;
        for (uint32_t i = 0; i < n_calls_of(ds); i++)
                c->call_buf[k++] = ds->more->calls[i];
        for (uint32_t i = 0; i < n_calls_of(next); i++)
                c->call_buf[k++] = next->more->calls[i];
        eval_day_in_t in = {
            .emp = emp,
            .day = day,
            .in_service = in_service(c, day),
            .att = ds ? &ds->att : NULL,
            .excuses = {es->ex, es->n_ex},
            .calls = c->call_buf,
            .n_calls = k,
            .excuses_of = excuses_of,
            .ud = c,
        };
        int n = eval_day(c->ctx, &in, c->wm, &c->scratch);
        if (n < 0) {
                c->failed = true;
                return;
        }
        if (n == 0 && (!ds || ledger_of(ds)->n == 0))
                return;
        if (!ds && !(ds = day_get(c, emp, day)))
                return;
        day_more_t *m = more_get(c, ds);
        if (!m)
                return;
        bool excused = eval_excused(c->ctx, in.excuses, day);
        int nch = eval_reconcile(&m->ledger, &c->scratch, excused);
        if (nch < 0) {
                c->failed = true;
                return;
        }
        for (size_t i = 0; nch > 0 && i < m->ledger.n; i++)
                if (m->ledger.v[i].changed) {
                        m->ledger.v[i].changed = false;
                        publish(c, emp, day, &m->ledger.v[i]);
                }
}

static void evaluate_all(core_t *c, int32_t day)
{
        size_t n = c->roster->n;
        for (size_t e = 0; e < n; e++) {
                /* evaluate() may add the date's slot: look it up again */
                if (e + PREFETCH_AHEAD < n)
                        day_prefetch(slot_find(c, day),
                                     (int32_t)(e + PREFETCH_AHEAD));
                evaluate(c, (int32_t)e, day);
        }
}

static void raise_not_clocked_in(core_t *c, int32_t day)
{
        /* the decision is the rules' (eval_not_clocked_in); a closed day
         * alerts nobody, so the loop is skipped for it */
        if (ptime_cmp(c->wm, eval_day_close(c->ctx, day)) >= 0)
                return;
        for (size_t i = 0; i < c->roster->n; i++) {
                int32_t emp = (int32_t)i;
                if (i + PREFETCH_AHEAD < c->roster->n)
                        day_prefetch(slot_find(c, day),
                                     (int32_t)(i + PREFETCH_AHEAD));
                if (!c->owned[c->unit_of[emp]])
                        continue;
                emp_state_t *es = &c->emps[emp];
                day_state_t *ds = day_find(c, emp, day);
                eval_day_in_t in = {.emp = emp,
                                    .day = day,
                                    .in_service = true,
                                    .att = ds ? &ds->att : NULL,
                                    .excuses = {es->ex, es->n_ex}};
                if (!eval_not_clocked_in(c->ctx, &in, ds && ds->alerted, c->wm))
                        continue;
                if (!ds && !(ds = day_get(c, emp, day)))
                        return;
                ds->alerted = true;
                out_alert_not_clocked_in(&c->w, c->ctx, emp, day,
                                         decision_time(c));
                emit(c, CORE_OUT_ALERT, eval_alert_recipient(c->roster, emp),
                     NULL);
                c->st.alerts++;
                if (c->sink.touched)
                        c->sink.touched(c->sink.ud, emp, day);
        }
}

static void fire_due(core_t *c)
{
        while (c->n_heap > 0 && !c->failed &&
               ptime_cmp(c->heap[0].due, c->wm) < 0) {
                timer_t_ t = timer_pop(c);
                c->firing = true;
                c->fire_due = t.due;
                switch (t.type) {
                case T_CLOSE:
                        evaluate_all(c, t.day);
                        if (t.day >= c->floor)
                                digest_close(c, t.day);
                        break;
                case T_ALERT:
                        raise_not_clocked_in(c, t.day);
                        break;
                case T_CALL:
                        evaluate(c, t.emp, t.day);
                        break;
                }
                c->firing = false;
        }
}

/* ---- applying accepted records ----------------------------------------- */

static void mark_in_service(core_t *c, int32_t day)
{
        date_info_t *d = date_find(c, day);
        if (!d && !(d = date_add(c, day)))
                return;
        if (d->in_service)
                return;
        d->in_service = true;
        ptime_t close = eval_day_close(c->ctx, day);
        timer_push(c, close, T_CLOSE, -1, day);
        ptime_t alert = eval_alert_due(c->ctx, day);
        if (ptime_cmp(alert, PTIME_FOREVER) != 0)
                timer_push(c, alert, T_ALERT, -1, day);
        /* Calls already stored for the day were not duty calls while it
         * was out of service; now they may be.  (After the close, the
         * T_CLOSE timer about to fire covers everyone.) */
        if (ptime_cmp(c->wm, close) < 0)
                for (size_t e = 0; e < c->roster->n; e++)
                        if (day_find(c, (int32_t)e, day))
                                evaluate(c, (int32_t)e, day);
}

static void apply_presence(core_t *c, const record_t *r, const char *id,
                           int32_t emp)
{
        const rec_presence_t *p = &r->u.presence;
        int32_t day = tz_local_day(c->policy->tz, p->at);
        day_state_t *ds = day_get(c, emp, day);
        if (!ds)
                return;
        eval_att_add(&ds->att, p->clock_out, p->wfh, p->at, id);
        mark_in_service(c, day);
        evaluate(c, emp, day);
        digest_touch(c, emp, day);
}

static bool add_call(core_t *c, int32_t emp, int32_t day, const eval_call_t *k)
{
        day_state_t *ds = day_get(c, emp, day);
        day_more_t *m = ds ? more_get(c, ds) : NULL;
        if (!m)
                return false;
        if (m->n_calls == m->cap_calls &&
            !grow((void **)&m->calls, &m->cap_calls, sizeof(*m->calls))) {
                c->failed = true;
                return false;
        }
        m->calls[m->n_calls++] = k;
        return true;
}

static void apply_call(core_t *c, const record_t *r, const core_hint_t *h)
{
        const rec_call_t *rc = &r->u.call;
        if (!c->calls || c->calls->used == 1024) {
                call_chunk_t *ch = malloc(sizeof(*ch));
                if (!ch) {
                        c->failed = true;
                        return;
                }
                ch->next = c->calls;
                ch->used = 0;
                c->calls = ch;
        }
        eval_call_t *k = &c->calls->v[c->calls->used++];
        memcpy(k->call_id, rc->call_id, sizeof(k->call_id));
        memcpy(k->event_id, r->event_id, sizeof(k->event_id));
        k->caller = h->caller;
        k->callee = h->subject;
        k->at = rc->at;
        k->outcome = rc->outcome == CALL_ANSWERED ? EVAL_CALL_ANSWERED
                     : rc->outcome == CALL_MISSED ? EVAL_CALL_MISSED
                                                  : EVAL_CALL_DECLINED;
        int32_t day = tz_local_day(c->policy->tz, k->at);
        if (!add_call(c, k->callee, day, k))
                return;
        if (k->caller >= 0 && k->caller != k->callee &&
            !add_call(c, k->caller, day, k))
                return;
        if (k->outcome != EVAL_CALL_ANSWERED)
                timer_push(c, eval_call_due(c->ctx, k->at), T_CALL, k->callee,
                           day);
        evaluate(c, k->callee, day);
        if (k->caller >= 0)
                evaluate(c, k->caller, day);
        /* An answer just after midnight may settle the previous day's
         * last calls. */
        int64_t m = tz_local_minute(c->policy->tz, k->at);
        if (k->outcome == EVAL_CALL_ANSWERED &&
            m - (int64_t)day * 1440 < c->policy->callback_minutes) {
                evaluate(c, k->callee, day - 1);
                if (k->caller >= 0)
                        evaluate(c, k->caller, day - 1);
        }
}

static void apply_excuse(core_t *c, const record_t *r, int32_t emp, bool has_ts,
                         ptime_t ts)
{
        const rec_excuse_t *x = &r->u.excuse;
        emp_state_t *es = &c->emps[emp];
        eval_excuse_t *v = calloc(1, sizeof(*v));
        if (!v || (es->n_ex == es->cap_ex &&
                   !grow((void **)&es->ex, &es->cap_ex, sizeof(*es->ex)))) {
                free(v);
                c->failed = true;
                return;
        }
        memcpy(v->excuse_id, x->excuse_id, sizeof(v->excuse_id));
        memcpy(v->event_id, r->event_id, sizeof(v->event_id));
        memcpy(v->kind, x->kind, sizeof(v->kind));
        v->from = x->from;
        v->to = x->to;
        v->updated_at = x->updated_at;
        v->revoked = x->revoked;
        v->has_arrival = has_ts;
        v->arrival_day = has_ts ? tz_local_day(c->policy->tz, ts) : 0;
        es->ex[es->n_ex++] = v;

        /* Every in-service day any version of this excuse touches may
         * change, and so may the calls of those days' counterparts. */
        int32_t lo = x->from, hi = x->to;
        for (uint32_t i = 0; i < es->n_ex; i++)
                if (strcmp(es->ex[i]->excuse_id, x->excuse_id) == 0) {
                        if (es->ex[i]->from < lo)
                                lo = es->ex[i]->from;
                        if (es->ex[i]->to > hi)
                                hi = es->ex[i]->to;
                }
        for (size_t i = 0; i < c->n_dates; i++) {
                int32_t day = c->dates[i].day;
                if (day < lo || day > hi || !c->dates[i].in_service)
                        continue;
                evaluate(c, emp, day);
                digest_touch(c, emp, day);
                day_state_t *ds = day_find(c, emp, day);
                for (uint32_t k = 0; k < n_calls_of(ds); k++) {
                        const eval_call_t *call = ds->more->calls[k];
                        int32_t other =
                            call->callee == emp ? call->caller : call->callee;
                        if (other >= 0 && other != emp)
                                evaluate(c, other, day);
                }
        }
}

static int final_cmp(const void *a, const void *b)
{
        const report_row_t *x = a, *y = b;
        if (x->day != y->day)
                return x->day < y->day ? -1 : 1;
        int c = strcmp(x->employee_id, y->employee_id);
        if (c)
                return c;
        if (x->p->d.kind != y->p->d.kind)
                return x->p->d.kind < y->p->d.kind ? -1 : 1;
        return strcmp(x->p->d.subject, y->p->d.subject);
}

static int digest_cmp(const void *a, const void *b, void *roster)
{
        const digest_row_t *x = a, *y = b;
        const roster_t *r = roster;
        return strcmp(r->emp[x->unit_emp].unit_id, r->emp[y->unit_emp].unit_id);
}

long core_final(const core_t *c, report_row_t **out)
{
        size_t n = 0, cap = 1024;
        report_row_t *rows = malloc(cap * sizeof(*rows));
        if (!rows)
                return -1;
        for (size_t e = 0; e < c->roster->n; e++) {
                const emp_state_t *es = &c->emps[e];
                for (uint32_t i = 0; i < es->n_days; i++) {
                        const eval_ledger_t *lg = ledger_of(es->days[i]);
                        for (size_t k = 0; k < lg->n; k++) {
                                if (n == cap) {
                                        cap *= 2;
                                        report_row_t *nr =
                                            realloc(rows, cap * sizeof(*nr));
                                        if (!nr) {
                                                free(rows);
                                                return -1;
                                        }
                                        rows = nr;
                                }
                                rows[n++] = (report_row_t){
                                    (int32_t)e, es->days[i]->day, &lg->v[k],
                                    c->roster->emp[e].employee_id};
                        }
                }
        }
        qsort(rows, n, sizeof(*rows), final_cmp);
        *out = rows;
        return (long)n;
}

/* ---- admission ---------------------------------------------------------- */

/* Presence and excuses are de-duplicated by event_id, calls by call_id. */
static const char *dedup_key(const record_t *rec)
{
        return rec->topic == TOPIC_CALLS ? rec->u.call.call_id : rec->event_id;
}

void core_hint(const roster_t *roster, const record_t *rec, core_hint_t *h)
{
        const char *id = record_subject_id(rec);
        h->subject = roster_find(roster, id, strlen(id));
        h->caller = rec->topic == TOPIC_CALLS
                        ? roster_find(roster, rec->u.call.caller_id,
                                      strlen(rec->u.call.caller_id))
                        : -1;
        const char *key = dedup_key(rec);
        h->key_hash = strmap_hash(key, strlen(key));
}

void core_prefetch(const core_t *c, const record_t *rec, const core_hint_t *h)
{
        strmap_prefetch(c->seen[rec->topic], h->key_hash);
        if (h->subject < 0)
                return;
        __builtin_prefetch(&c->emps[h->subject]);
        __builtin_prefetch(&c->roster->emp[h->subject]);
        if (rec->topic != TOPIC_PRESENCE)
                return;
        /* the employee-day's state, when it already exists */
        const day_slot_t *sl =
            slot_find(c, tz_local_day(c->policy->tz, rec->u.presence.at));
        if (sl && sl->by_emp[h->subject])
                __builtin_prefetch(sl->by_emp[h->subject]);
}

void core_expect(core_t *c, size_t records)
{
        (void)strmap_reserve(c->seen[TOPIC_PRESENCE], records);
}

dlq_reason_t core_admit(core_t *c, const record_t *rec, bool has_ts, ptime_t ts,
                        bool *duplicate, char *detail, size_t detail_size)
{
        core_hint_t h;
        core_hint(c->roster, rec, &h);
        return core_admit_hinted(c, rec, &h, has_ts, ts, duplicate, detail,
                                 detail_size);
}

dlq_reason_t core_admit_hinted(core_t *c, const record_t *rec,
                               const core_hint_t *h, bool has_ts, ptime_t ts,
                               bool *duplicate, char *detail,
                               size_t detail_size)
{
        *duplicate = false;
        dlq_reason_t reason = DLQ_NONE;
        if (h->subject < 0)
                reason =
                    record_check_roster(rec, c->roster, detail, detail_size);
        if (reason != DLQ_NONE) {
                c->st.dead[reason]++;
                return reason;
        }
        const char *key = dedup_key(rec);
        size_t klen = strlen(key);
        if (strmap_get_h(c->seen[rec->topic], key, klen, h->key_hash) >= 0) {
                *duplicate = true;
                c->st.duplicates++;
                return DLQ_NONE;
        }
        reason = record_check_timing(rec, c->policy, has_ts, ts, detail,
                                     detail_size);
        if (reason != DLQ_NONE) {
                c->st.dead[reason]++;
                return reason;
        }
        /* the set's copy of the key outlives the record: the presence
         * summary borrows it as evidence */
        const char *stored = strmap_intern_h(c->seen[rec->topic], key, klen,
                                             h->key_hash, 1, NULL);
        if (!stored) {
                c->failed = true;
                return DLQ_NONE;
        }
        c->st.accepted++;
        c->admitting = has_ts;
        c->admit_ts = ts;
        switch (rec->topic) {
        case TOPIC_PRESENCE:
                apply_presence(c, rec, stored, h->subject);
                break;
        case TOPIC_CALLS:
                apply_call(c, rec, h);
                break;
        case TOPIC_EXCUSES:
                apply_excuse(c, rec, h->subject, has_ts, ts);
                break;
        default:
                break;
        }
        c->admitting = false;
        return DLQ_NONE;
}

void core_set_watermark(core_t *c, ptime_t wm)
{
        if (!c->has_wm || ptime_cmp(wm, c->wm) > 0) {
                c->wm = wm;
                c->has_wm = true;
        }
        /* the records' time, even below a watermark the clock moved */
        if (ptime_cmp(wm, PTIME_FOREVER) != 0 && ptime_cmp(wm, c->wm_shown) > 0)
                c->wm_shown = wm;
}

void core_set_clock(core_t *c, ptime_t now)
{
        if (!c->has_wm || ptime_cmp(now, c->wm) > 0) {
                c->wm = now;
                c->has_wm = true;
        }
}

ptime_t core_watermark(const core_t *c)
{
        return c->has_wm ? c->wm : PTIME_NEVER;
}

void core_fire(core_t *c)
{
        if (c->has_wm)
                fire_due(c);
}

static void raise_outage(core_t *c, int32_t day)
{
        out_alert_no_presence(&c->w, c->ctx, day, eval_day_close(c->ctx, day));
        emit(c, CORE_OUT_ALERT, "operators", NULL);
        c->st.alerts++;
}

static void alert_outages(core_t *c, int32_t today);

void core_finish(core_t *c)
{
        c->wm = PTIME_FOREVER; /* SPEC §6: at end of input every day closes */
        c->has_wm = true;
        fire_due(c);
        /* every day is closed now, and no wall clock says what today is:
         * the gaps between the first and the last date in service */
        alert_outages(c, INT32_MAX);
}

/* The no_presence_data cursor over the closed days (eval_outage_*). */
static void alert_outages(core_t *c, int32_t today)
{
        /* nothing closed since the last look (patuhd looks at every
         * record): no need to find the dates in service */
        if (c->outage_next != INT32_MIN &&
            ptime_cmp(eval_day_close(c->ctx, c->outage_next), c->wm) >= 0)
                return;
        int32_t first = INT32_MAX, last = INT32_MIN;
        for (size_t i = 0; i < c->n_dates; i++)
                if (c->dates[i].in_service) {
                        if (first == INT32_MAX)
                                first = c->dates[i].day;
                        last = c->dates[i].day;
                }
        if (first == INT32_MAX)
                return;
        if (c->outage_next < first)
                c->outage_next = first;
        while (ptime_cmp(eval_day_close(c->ctx, c->outage_next), c->wm) < 0) {
                int32_t d = c->outage_next;
                if (eval_outage_undecided(d, last, today))
                        break;
                c->outage_next++;
                if (eval_outage_raised(c->ctx, d, in_service(c, d)))
                        raise_outage(c, d);
        }
}

void core_alert_closed_outages(core_t *c, int32_t today)
{
        if (!c->outages)
                return; /* another instance raises them */
        /* a watermark at the end of time is replay's end of input */
        if (!c->has_wm || ptime_cmp(c->wm, PTIME_FOREVER) == 0)
                return;
        alert_outages(c, today);
}

int32_t core_outage_cursor(const core_t *c)
{
        return c->outage_next;
}

void core_set_outage_cursor(core_t *c, int32_t day)
{
        c->outage_next = day;
}

const eval_ledger_t *core_ledger(const core_t *c, int32_t emp, int32_t day)
{
        const day_state_t *ds = day_find(c, emp, day);
        return ds ? ledger_of(ds) : NULL;
}

bool core_alerted(const core_t *c, int32_t emp, int32_t day)
{
        const day_state_t *ds = day_find(c, emp, day);
        return ds && ds->alerted;
}

/* The core's copy of a restored entry's id (one copy per distinct id). */
static const char *own_id(core_t *c, const char *s)
{
        return strmap_intern(c->ids, s, strlen(s), 0, NULL);
}

bool core_restore_pub(core_t *c, int32_t emp, int32_t day, const eval_pub_t *p)
{
        day_state_t *ds = day_get(c, emp, day);
        if (!ds)
                return false;
        eval_pub_t own = *p;
        bool ok = (own.d.subject = own_id(c, p->d.subject)) != NULL;
        for (size_t i = 0; ok && i < own.d.n_evidence; i++)
                ok = (own.d.evidence[i] = own_id(c, p->d.evidence[i])) != NULL;
        day_more_t *m = ok ? more_get(c, ds) : NULL;
        eval_pub_t *q = m ? eval_ledger_push(&m->ledger, &own) : NULL;
        if (!q) {
                /* a restore that lost an entry must not go on as if
                 * complete (core_failed) */
                c->failed = true;
                return false;
        }
        q->changed = false;
        q->newly_active = false;
        return true;
}

bool core_restore_alerted(core_t *c, int32_t emp, int32_t day)
{
        day_state_t *ds = day_get(c, emp, day);
        if (ds)
                ds->alerted = true;
        return ds != NULL;
}

/* Evaluates every day EMP has state for (and notes its digest rows as
 * changed when TOUCH). */
static void evaluate_days(core_t *c, int32_t emp, bool touch)
{
        emp_state_t *es = &c->emps[emp];
        /* evaluate() may add days: walk a copy of the keys */
        uint32_t n = es->n_days;
        if (n == 0)
                return;
        int32_t *days = malloc(n * sizeof(*days));
        if (!days) {
                c->failed = true;
                return;
        }
        for (uint32_t i = 0; i < n; i++)
                days[i] = es->days[i]->day;
        for (uint32_t i = 0; i < n; i++) {
                evaluate(c, emp, days[i]);
                if (touch)
                        digest_touch(c, emp, days[i]);
        }
        free(days);
}

void core_restore_begin(core_t *c, ptime_t wm)
{
        c->restoring = true;
        if (ptime_cmp(wm, PTIME_NEVER) != 0)
                core_set_watermark(c, wm);
}

void core_restore_end(core_t *c)
{
        c->restoring = false;
        for (size_t e = 0; e < c->roster->n && !c->failed; e++)
                evaluate_days(c, (int32_t)e, false);
        if (c->floor != INT32_MIN) {
                /* a reload: the days the old core had closed close again
                 * here, under the bound, so that nothing older than it
                 * changes once the bound is lifted */
                core_fire(c);
                c->floor = INT32_MIN;
        }
}

size_t core_units(const core_t *c)
{
        return c->n_units;
}

const char *core_unit_id(const core_t *c, size_t u)
{
        return c->roster->emp[c->unit_members[c->unit_start[u]]].unit_id;
}

size_t core_unit_of(const core_t *c, int32_t emp)
{
        return (size_t)c->unit_of[emp];
}

void core_own_none(core_t *c, bool outages)
{
        memset(c->owned, 0, c->n_units);
        c->outages = outages;
}

void core_set_outages(core_t *c, bool on)
{
        c->outages = on;
}

bool core_owns(const core_t *c, size_t u)
{
        return c->owned[u];
}

void core_take_unit(core_t *c, size_t u)
{
        if (c->owned[u])
                return;
        c->owned[u] = true;
        /* what its previous owner decided is in the ledgers restored;
         * evaluating every employee-day the unit has state for now
         * publishes only what that owner had not made durable */
        for (size_t i = c->unit_start[u]; i < c->unit_start[u + 1]; i++)
                evaluate_days(c, c->unit_members[i], true);
        /* an employee with no state on a day that has closed (absent,
         * nothing sent) is decided by the close, which fired while the
         * unit was another's: decided here; and the unit's rows of every
         * closed day go out again (an upsert for a reader that has them) */
        for (size_t di = 0; di < c->n_dates; di++) {
                int32_t day = c->dates[di].day;
                if (!c->has_wm ||
                    ptime_cmp(eval_day_close(c->ctx, day), c->wm) >= 0)
                        continue;
                for (size_t i = c->unit_start[u]; i < c->unit_start[u + 1]; i++)
                        if (!day_find(c, c->unit_members[i], day))
                                evaluate(c, c->unit_members[i], day);
                if (c->dates[di].closed &&
                    c->unit_start[u] != c->unit_start[u + 1])
                        digest_touch(c, c->unit_members[c->unit_start[u]], day);
        }
}

void core_restore_floor(core_t *c, int32_t day)
{
        c->floor = day;
}

size_t core_pending(const core_t *c)
{
        return c->n_heap;
}

const core_stats_t *core_stats(const core_t *c)
{
        return &c->st;
}

bool core_failed(const core_t *c)
{
        return c->failed;
}

core_t *core_new(const eval_ctx_t *ctx, const core_sink_t *sink)
{
        core_t *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->ctx = ctx;
        c->roster = ctx->roster;
        c->policy = ctx->policy;
        c->sink = *sink;
        jw_init(&c->w);
        c->outage_next = INT32_MIN;
        c->floor = INT32_MIN;
        c->emps = calloc(c->roster->n ? c->roster->n : 1, sizeof(*c->emps));
        bool ok = c->emps != NULL && units_build(c);
        c->outages = true;
        if (ok && (c->owned = malloc(c->n_units ? c->n_units : 1)) != NULL)
                memset(c->owned, 1, c->n_units);
        ok = ok && c->owned != NULL;
        for (int t = 0; t < TOPIC__COUNT; t++)
                ok &= (c->seen[t] = strmap_new()) != NULL;
        ok &= (c->ids = strmap_new()) != NULL;
        if (!ok) {
                core_free(c);
                return NULL;
        }
        return c;
}

void core_free(core_t *c)
{
        if (!c)
                return;
        for (size_t e = 0; c->emps && e < c->roster->n; e++) {
                emp_state_t *es = &c->emps[e];
                free(es->days);
                for (uint32_t i = 0; i < es->n_ex; i++)
                        free((void *)es->ex[i]);
                free(es->ex);
        }
        free(c->emps);
        for (size_t i = 0; i < c->n_slots; i++)
                free(c->slots[i].by_emp);
        free(c->slots);
        while (c->day_chunks) {
                /* the day states in memory order, not employee by
                 * employee (which misses the cache at every one) */
                day_chunk_t *next = c->day_chunks->next;
                free(c->day_chunks);
                c->day_chunks = next;
        }
        while (c->more_chunks) {
                more_chunk_t *next = c->more_chunks->next;
                for (size_t i = 0; i < c->more_chunks->used; i++) {
                        free(c->more_chunks->v[i].calls);
                        eval_ledger_free(&c->more_chunks->v[i].ledger);
                }
                free(c->more_chunks);
                c->more_chunks = next;
        }
        for (size_t i = 0; i < c->n_dates; i++) {
                date_info_t *d = &c->dates[i];
                free(d->dirty);
                for (size_t u = 0; d->shown && u < c->n_units; u++)
                        digest_row_free(&d->shown[u]);
                free(d->shown);
                free(d->has_shown);
        }
        free(c->dates);
        free(c->owned);
        free(c->unit_of);
        free(c->unit_members);
        free(c->unit_start);
        digest_row_free(&c->drow);
        free(c->heap);
        for (int t = 0; t < TOPIC__COUNT; t++)
                strmap_free(c->seen[t]);
        strmap_free(c->ids);
        while (c->calls) {
                call_chunk_t *next = c->calls->next;
                free(c->calls);
                c->calls = next;
        }
        eval_list_free(&c->scratch);
        free(c->call_buf);
        jw_free(&c->w);
        free(c);
}

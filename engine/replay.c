#include "replay.h"

#include "../consumers/record.h"
#include "../rules/calendar.h"
#include "../rules/eval.h"
#include "../rules/jsonv.h"
#include "../rules/policy.h"
#include "../rules/roster.h"
#include "../rules/strmap.h"
#include "../rules/tz.h"
#include "output.h"
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* State of one employee-day.  Owned by its emp_state. */
typedef struct day_state {
        int32_t day;
        bool alerted;              /* not_clocked_in already raised */
        eval_att_t att;            /* presence summary */
        const eval_call_t **calls; /* owned array; calls live in arena */
        uint32_t n_calls, cap_calls;
        eval_ledger_t ledger; /* what was published */
} day_state_t;

typedef struct emp_state {
        /* days[i] is the state of day day_keys[i]; the keys sit in their
         * own array so that finding a day scans one cache line instead of
         * touching every day's state. */
        day_state_t **days; /* owned, unsorted (few per employee) */
        int32_t *day_keys;  /* owned, parallel to days */
        uint32_t n_days, cap_days;
        const eval_excuse_t **ex; /* owned array of owned versions */
        uint32_t n_ex, cap_ex;
} emp_state_t;

typedef struct date_info {
        int32_t day;
        bool in_service;
} date_info_t;

enum timer_type { T_CLOSE, T_ALERT, T_CALL };

typedef struct timer {
        ptime_t due;
        int type;
        int32_t emp;
        int32_t day;
} timer_t_;

typedef struct call_chunk {
        struct call_chunk *next;
        size_t used;
        eval_call_t v[1024];
} call_chunk_t;

typedef struct replay {
        eval_ctx_t ctx;
        policy_t *policy;     /* owned */
        roster_t *roster;     /* owned */
        calendar_t *calendar; /* owned */
        emp_state_t *emps;    /* owned, one per roster row */
        date_info_t *dates;   /* owned, sorted by day */
        size_t n_dates, cap_dates;
        timer_t_ *heap; /* owned min-heap by due */
        size_t n_heap, cap_heap;
        strmap_t *seen[TOPIC__COUNT]; /* accepted event_ids / call_ids */
        call_chunk_t *calls;          /* owned arena */
        ptime_t wm;                   /* watermark the rules see */
        ptime_t wm_shown;             /* last real watermark (decided_at) */
        bool has_wm;
        eval_list_t scratch;
        const eval_call_t **call_buf;
        size_t cap_call_buf;
        FILE *f_rev, *f_alert, *f_tpp, *f_dlq;
        jw_t w;      /* output line being written */
        bool failed; /* out of memory or I/O error */
        replay_stats_t *st;
} replay_t;

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

static day_state_t *day_find(const emp_state_t *es, int32_t day)
{
        for (uint32_t i = es->n_days; i-- > 0;)
                if (es->day_keys[i] == day)
                        return es->days[i];
        return NULL;
}

static day_state_t *day_get(replay_t *rp, int32_t emp, int32_t day)
{
        emp_state_t *es = &rp->emps[emp];
        day_state_t *ds = day_find(es, day);
        if (ds)
                return ds;
        if (es->n_days == es->cap_days) {
                uint32_t cap = es->cap_days;
                if (!grow((void **)&es->days, &cap, sizeof(*es->days)))
                        goto oom;
                int32_t *keys = realloc(es->day_keys, cap * sizeof(*keys));
                if (!keys)
                        goto oom;
                es->day_keys = keys;
                es->cap_days = cap;
        }
        ds = calloc(1, sizeof(*ds));
        if (!ds)
                goto oom;
        ds->day = day;
        es->day_keys[es->n_days] = day;
        es->days[es->n_days++] = ds;
        return ds;
oom:
        rp->failed = true;
        return NULL;
}

static date_info_t *date_find(const replay_t *rp, int32_t day)
{
        size_t lo = 0, hi = rp->n_dates;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (rp->dates[mid].day < day)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < rp->n_dates && rp->dates[lo].day == day ? &rp->dates[lo]
                                                            : NULL;
}

static bool in_service(const replay_t *rp, int32_t day)
{
        const date_info_t *d = date_find(rp, day);
        return d && d->in_service;
}

static date_info_t *date_add(replay_t *rp, int32_t day)
{
        if (rp->n_dates == rp->cap_dates) {
                size_t nc = rp->cap_dates ? rp->cap_dates * 2 : 64;
                date_info_t *v = realloc(rp->dates, nc * sizeof(*v));
                if (!v) {
                        rp->failed = true;
                        return NULL;
                }
                rp->dates = v;
                rp->cap_dates = nc;
        }
        size_t i = rp->n_dates;
        while (i > 0 && rp->dates[i - 1].day > day) {
                rp->dates[i] = rp->dates[i - 1];
                i--;
        }
        rp->dates[i] = (date_info_t){day, false};
        rp->n_dates++;
        return &rp->dates[i];
}

static void timer_push(replay_t *rp, ptime_t due, int type, int32_t emp,
                       int32_t day)
{
        if (rp->n_heap == rp->cap_heap) {
                size_t nc = rp->cap_heap ? rp->cap_heap * 2 : 256;
                timer_t_ *v = realloc(rp->heap, nc * sizeof(*v));
                if (!v) {
                        rp->failed = true;
                        return;
                }
                rp->heap = v;
                rp->cap_heap = nc;
        }
        size_t i = rp->n_heap++;
        rp->heap[i] = (timer_t_){due, type, emp, day};
        while (i > 0) {
                size_t up = (i - 1) / 2;
                if (ptime_cmp(rp->heap[up].due, rp->heap[i].due) <= 0)
                        break;
                timer_t_ t = rp->heap[up];
                rp->heap[up] = rp->heap[i];
                rp->heap[i] = t;
                i = up;
        }
}

static timer_t_ timer_pop(replay_t *rp)
{
        timer_t_ top = rp->heap[0];
        rp->heap[0] = rp->heap[--rp->n_heap];
        size_t i = 0;
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < rp->n_heap &&
                    ptime_cmp(rp->heap[l].due, rp->heap[m].due) < 0)
                        m = l;
                if (r < rp->n_heap &&
                    ptime_cmp(rp->heap[r].due, rp->heap[m].due) < 0)
                        m = r;
                if (m == i)
                        break;
                timer_t_ t = rp->heap[m];
                rp->heap[m] = rp->heap[i];
                rp->heap[i] = t;
                i = m;
        }
        return top;
}

/* ---- output ------------------------------------------------------------ */

/* Writes the record in rp->w as one line of f, then clears it. */
static void emit(replay_t *rp, FILE *f)
{
        jw_raw(&rp->w, "\n", 1);
        if (rp->w.oom || fwrite(rp->w.buf, 1, rp->w.len, f) != rp->w.len)
                rp->failed = true;
        jw_reset(&rp->w);
}

static void publish(replay_t *rp, int32_t emp, int32_t day, eval_pub_t *p)
{
        if (!p->violation_id[0])
                out_violation_id(&rp->ctx, emp, day, &p->d, p->violation_id);
        p->decided_at = rp->wm_shown;
        out_violation(&rp->w, &rp->ctx, emp, day, p);
        emit(rp, rp->f_rev);
        rp->st->revisions++;
        if (p->d.pct_u > 0 || p->tpp_sent) {
                out_tpp(&rp->w, &rp->ctx, emp, day, p);
                emit(rp, rp->f_tpp);
                p->tpp_sent = true;
        }
        if (p->newly_active) {
                out_alert_violation(&rp->w, &rp->ctx, emp, day, p,
                                    rp->wm_shown);
                emit(rp, rp->f_alert);
                rp->st->alerts++;
        }
}

/* ---- evaluation -------------------------------------------------------- */

static eval_excuses_t excuses_of(void *ud, int32_t emp)
{
        const replay_t *rp = ud;
        const emp_state_t *es = &rp->emps[emp];
        return (eval_excuses_t){es->ex, es->n_ex};
}

/* Re-evaluates (emp, day) against the current watermark and publishes
 * whatever changed. */
static void evaluate(replay_t *rp, int32_t emp, int32_t day)
{
        emp_state_t *es = &rp->emps[emp];
        day_state_t *ds = day_find(es, day);
        day_state_t *next = day_find(es, day + 1);
        size_t nc = (ds ? ds->n_calls : 0) + (next ? next->n_calls : 0);
        if (nc > rp->cap_call_buf) {
                size_t cap = nc * 2;
                const eval_call_t **b = realloc(rp->call_buf, cap * sizeof(*b));
                if (!b) {
                        rp->failed = true;
                        return;
                }
                rp->call_buf = b;
                rp->cap_call_buf = cap;
        }
        size_t k = 0;
        for (uint32_t i = 0; ds && i < ds->n_calls; i++)
                rp->call_buf[k++] = ds->calls[i];
        for (uint32_t i = 0; next && i < next->n_calls; i++)
                rp->call_buf[k++] = next->calls[i];
        eval_day_in_t in = {
            .emp = emp,
            .day = day,
            .in_service = in_service(rp, day),
            .att = ds ? &ds->att : NULL,
            .excuses = {es->ex, es->n_ex},
            .calls = rp->call_buf,
            .n_calls = k,
            .excuses_of = excuses_of,
            .ud = rp,
        };
        int n = eval_day(&rp->ctx, &in, rp->wm, &rp->scratch);
        if (n < 0) {
                rp->failed = true;
                return;
        }
        if (n == 0 && (!ds || ds->ledger.n == 0))
                return;
        if (!ds && !(ds = day_get(rp, emp, day)))
                return;
        bool excused = eval_excused(&rp->ctx, in.excuses, day);
        int nch = eval_reconcile(&ds->ledger, &rp->scratch, excused);
        if (nch < 0) {
                rp->failed = true;
                return;
        }
        for (size_t i = 0; nch > 0 && i < ds->ledger.n; i++)
                if (ds->ledger.v[i].changed) {
                        ds->ledger.v[i].changed = false;
                        publish(rp, emp, day, &ds->ledger.v[i]);
                }
}

static void evaluate_all(replay_t *rp, int32_t day)
{
        for (size_t e = 0; e < rp->roster->n; e++)
                evaluate(rp, (int32_t)e, day);
}

static void raise_not_clocked_in(replay_t *rp, int32_t day)
{
        /* A day whose close has passed is history: nobody is helped by a
         * "not clocked in yet" alert for it while a backlog is read. */
        if (ptime_cmp(rp->wm, eval_day_close(&rp->ctx, day)) >= 0)
                return;
        /* A clock-in stamped after the alert time does not count: the
         * alert says who had not clocked in by then, whichever record the
         * watermark passed it with. */
        ptime_t due = eval_alert_due(&rp->ctx, day);
        for (size_t i = 0; i < rp->roster->n; i++) {
                int32_t emp = (int32_t)i;
                emp_state_t *es = &rp->emps[emp];
                day_state_t *ds = day_find(es, day);
                if ((ds &&
                     ((ds->att.has_in && ptime_cmp(ds->att.in_at, due) < 0) ||
                      ds->alerted)) ||
                    !eval_expected(&rp->ctx, emp, day, true,
                                   (eval_excuses_t){es->ex, es->n_ex}))
                        continue;
                if (!ds && !(ds = day_get(rp, emp, day)))
                        return;
                ds->alerted = true;
                out_alert_not_clocked_in(&rp->w, &rp->ctx, emp, day,
                                         rp->wm_shown);
                emit(rp, rp->f_alert);
                rp->st->alerts++;
        }
}

static void fire_due(replay_t *rp)
{
        while (rp->n_heap > 0 && !rp->failed &&
               ptime_cmp(rp->heap[0].due, rp->wm) <= 0) {
                timer_t_ t = timer_pop(rp);
                switch (t.type) {
                case T_CLOSE:
                        evaluate_all(rp, t.day);
                        break;
                case T_ALERT:
                        raise_not_clocked_in(rp, t.day);
                        break;
                case T_CALL:
                        evaluate(rp, t.emp, t.day);
                        break;
                }
        }
}

/* ---- applying accepted records ----------------------------------------- */

static void mark_in_service(replay_t *rp, int32_t day)
{
        date_info_t *d = date_find(rp, day);
        if (!d && !(d = date_add(rp, day)))
                return;
        if (d->in_service)
                return;
        d->in_service = true;
        ptime_t close = eval_day_close(&rp->ctx, day);
        timer_push(rp, close, T_CLOSE, -1, day);
        ptime_t alert = eval_alert_due(&rp->ctx, day);
        if (ptime_cmp(alert, PTIME_FOREVER) != 0)
                timer_push(rp, alert, T_ALERT, -1, day);
        /* Calls already stored for the day were not duty calls while it
         * was out of service; now they may be.  (After the close, the
         * T_CLOSE timer about to fire covers everyone.) */
        if (ptime_cmp(rp->wm, close) < 0)
                for (size_t e = 0; e < rp->roster->n; e++)
                        if (day_find(&rp->emps[e], day))
                                evaluate(rp, (int32_t)e, day);
}

static void apply_presence(replay_t *rp, const record_t *r, const char *id)
{
        const rec_presence_t *p = &r->u.presence;
        int32_t emp =
            roster_find(rp->roster, p->employee_id, strlen(p->employee_id));
        int32_t day = tz_local_day(rp->policy->tz, p->at);
        day_state_t *ds = day_get(rp, emp, day);
        if (!ds)
                return;
        eval_att_add(&ds->att, p->clock_out, p->wfh, p->at, id);
        mark_in_service(rp, day);
        evaluate(rp, emp, day);
}

static bool add_call(replay_t *rp, int32_t emp, int32_t day,
                     const eval_call_t *c)
{
        day_state_t *ds = day_get(rp, emp, day);
        if (!ds)
                return false;
        if (ds->n_calls == ds->cap_calls &&
            !grow((void **)&ds->calls, &ds->cap_calls, sizeof(*ds->calls))) {
                rp->failed = true;
                return false;
        }
        ds->calls[ds->n_calls++] = c;
        return true;
}

static void apply_call(replay_t *rp, const record_t *r)
{
        const rec_call_t *rc = &r->u.call;
        if (!rp->calls || rp->calls->used == 1024) {
                call_chunk_t *ch = malloc(sizeof(*ch));
                if (!ch) {
                        rp->failed = true;
                        return;
                }
                ch->next = rp->calls;
                ch->used = 0;
                rp->calls = ch;
        }
        eval_call_t *c = &rp->calls->v[rp->calls->used++];
        memcpy(c->call_id, rc->call_id, sizeof(c->call_id));
        memcpy(c->event_id, r->event_id, sizeof(c->event_id));
        c->caller =
            roster_find(rp->roster, rc->caller_id, strlen(rc->caller_id));
        c->callee =
            roster_find(rp->roster, rc->callee_id, strlen(rc->callee_id));
        c->at = rc->at;
        c->outcome = rc->outcome == CALL_ANSWERED ? EVAL_CALL_ANSWERED
                     : rc->outcome == CALL_MISSED ? EVAL_CALL_MISSED
                                                  : EVAL_CALL_DECLINED;
        int32_t day = tz_local_day(rp->policy->tz, c->at);
        if (!add_call(rp, c->callee, day, c))
                return;
        if (c->caller >= 0 && c->caller != c->callee &&
            !add_call(rp, c->caller, day, c))
                return;
        if (c->outcome != EVAL_CALL_ANSWERED)
                timer_push(rp, eval_call_due(&rp->ctx, c->at), T_CALL,
                           c->callee, day);
        evaluate(rp, c->callee, day);
        if (c->caller >= 0)
                evaluate(rp, c->caller, day);
        /* An answer just after midnight may settle the previous day's
         * last calls. */
        int64_t m = tz_local_minute(rp->policy->tz, c->at);
        if (c->outcome == EVAL_CALL_ANSWERED &&
            m - (int64_t)day * 1440 < rp->policy->callback_minutes) {
                evaluate(rp, c->callee, day - 1);
                if (c->caller >= 0)
                        evaluate(rp, c->caller, day - 1);
        }
}

static void apply_excuse(replay_t *rp, const record_t *r, bool has_ts,
                         ptime_t ts)
{
        const rec_excuse_t *x = &r->u.excuse;
        int32_t emp =
            roster_find(rp->roster, x->employee_id, strlen(x->employee_id));
        emp_state_t *es = &rp->emps[emp];
        eval_excuse_t *v = calloc(1, sizeof(*v));
        if (!v || (es->n_ex == es->cap_ex &&
                   !grow((void **)&es->ex, &es->cap_ex, sizeof(*es->ex)))) {
                free(v);
                rp->failed = true;
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
        v->arrival_day = has_ts ? tz_local_day(rp->policy->tz, ts) : 0;
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
        for (size_t i = 0; i < rp->n_dates; i++) {
                int32_t day = rp->dates[i].day;
                if (day < lo || day > hi || !rp->dates[i].in_service)
                        continue;
                evaluate(rp, emp, day);
                day_state_t *ds = day_find(es, day);
                for (uint32_t k = 0; ds && k < ds->n_calls; k++) {
                        const eval_call_t *c = ds->calls[k];
                        int32_t other =
                            c->callee == emp ? c->caller : c->callee;
                        if (other >= 0 && other != emp)
                                evaluate(rp, other, day);
                }
        }
}

/* ---- admission of one input line --------------------------------------- */

static void dead_letter(replay_t *rp, const char *file, long long line,
                        int topic, bool has_ts, ptime_t ts, dlq_reason_t reason,
                        const char *detail, const char *event_id,
                        const char *raw, size_t len)
{
        out_dlq_src_t src = {file, line, topic, -1, -1, has_ts, ts};
        out_dlq(&rp->w, &rp->ctx, &src, reason, detail, event_id, raw, len);
        emit(rp, rp->f_dlq);
        rp->st->dead[reason]++;
}

static void advance(replay_t *rp, ptime_t t)
{
        if (!rp->has_wm || ptime_cmp(t, rp->wm) > 0) {
                rp->wm = t;
                rp->wm_shown = t;
                rp->has_wm = true;
        }
}

/* The envelope of SPEC §6, checked before its value (SPEC §7). */
static void handle_line(replay_t *rp, const char *file, long long lineno,
                        const char *s, size_t n)
{
        char detail[256] = "";
        record_t rec;
        pj_tok_t tok[RECORD_STACK_TOKENS], *heap = NULL;
        pj_doc_t d;
        memset(&rec, 0, sizeof(rec));
        rp->st->lines++;
        bool parsed = pj_parse_any(&d, s, n, tok, RECORD_STACK_TOKENS, &heap);
        if (!parsed || d.tok[0].type != PJ_OBJECT) {
                dead_letter(rp, file, lineno, -1, false, PTIME_NEVER,
                            DLQ_MALFORMED,
                            parsed ? "envelope is not a JSON object"
                                   : "envelope is not valid JSON",
                            NULL, s, n);
                free(heap);
                return;
        }
        char buf[96];
        int jt = pj_get(&d, 0, "topic");
        int topic = -1;
        if (jt >= 0 && d.tok[jt].type == PJ_STRING &&
            pj_string(&d, jt, buf, sizeof(buf)) >= 0)
                topic = rec_topic_from_name(buf);
        int jv = pj_get(&d, 0, "value");
        int jts = pj_get(&d, 0, "ts");
        bool has_ts = jts >= 0 && d.tok[jts].type != PJ_NULL;
        ptime_t ts = PTIME_NEVER;
        dlq_reason_t reason = DLQ_NONE;
        if (topic < 0) {
                int l = jt >= 0 && d.tok[jt].type == PJ_STRING
                            ? (int)d.tok[jt].len
                            : 0;
                snprintf(detail, sizeof(detail), "unknown topic '%.*s'",
                         l < 40 ? l : 40, l ? s + d.tok[jt].start : "");
                reason = DLQ_INVALID;
        } else if (jv < 0 || d.tok[jv].type == PJ_NULL) {
                snprintf(detail, sizeof(detail), "envelope without value");
                reason = DLQ_INVALID;
        } else if (has_ts) {
                int l = d.tok[jts].type == PJ_STRING
                            ? pj_string(&d, jts, buf, sizeof(buf))
                            : -1;
                if (l < 0 || !ptime_parse_rfc3339(buf, (size_t)l, &ts)) {
                        snprintf(detail, sizeof(detail),
                                 "bad envelope ts '%.60s'", l < 0 ? "" : buf);
                        reason = DLQ_INVALID;
                        has_ts = false;
                }
        }
        if (reason == DLQ_NONE && has_ts)
                advance(rp, ts);
        if (reason == DLQ_NONE) {
                if (d.tok[jv].type == PJ_STRING) {
                        /* the raw bytes of the record, possibly broken */
                        size_t cap = d.tok[jv].len + 1;
                        char *raw = malloc(cap);
                        int l = raw ? pj_string(&d, jv, raw, cap) : -1;
                        if (l < 0) {
                                snprintf(detail, sizeof(detail),
                                         "value is not valid JSON");
                                reason = DLQ_MALFORMED;
                                memset(&rec, 0, sizeof(rec));
                        } else {
                                reason = record_decode_bytes(
                                    (rec_topic_t)topic, raw, (size_t)l, &rec,
                                    detail, sizeof(detail));
                        }
                        free(raw);
                } else {
                        reason =
                            record_decode_tokens((rec_topic_t)topic, &d, jv,
                                                 &rec, detail, sizeof(detail));
                }
        }
        free(heap);
        if (reason == DLQ_NONE)
                reason = record_check_roster(&rec, rp->roster, detail,
                                             sizeof(detail));
        if (reason == DLQ_NONE) {
                const char *key = rec.topic == TOPIC_CALLS ? rec.u.call.call_id
                                                           : rec.event_id;
                if (strmap_get(rp->seen[rec.topic], key, strlen(key)) >= 0) {
                        rp->st->duplicates++;
                        fire_due(rp);
                        return;
                }
                reason = record_check_timing(&rec, rp->policy, has_ts, ts,
                                             detail, sizeof(detail));
        }
        if (reason != DLQ_NONE) {
                bool decoded = topic >= 0 && jv >= 0 &&
                               reason != DLQ_MALFORMED &&
                               !(reason == DLQ_INVALID && !rec.event_id[0]);
                dead_letter(rp, file, lineno, topic, has_ts, ts, reason, detail,
                            decoded ? rec.event_id : NULL, s, n);
                fire_due(rp);
                return;
        }
        const char *key =
            rec.topic == TOPIC_CALLS ? rec.u.call.call_id : rec.event_id;
        /* the set's copy of the key outlives the record: the presence
         * summary borrows it as evidence */
        const char *stored =
            strmap_intern(rp->seen[rec.topic], key, strlen(key), 1, NULL);
        if (!stored) {
                rp->failed = true;
                return;
        }
        rp->st->accepted++;
        if (!has_ts)
                advance(rp, record_time(&rec));
        switch (rec.topic) {
        case TOPIC_PRESENCE:
                apply_presence(rp, &rec, stored);
                break;
        case TOPIC_CALLS:
                apply_call(rp, &rec);
                break;
        case TOPIC_EXCUSES:
                apply_excuse(rp, &rec, has_ts, ts);
                break;
        default:
                break;
        }
        fire_due(rp);
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

static int read_events(replay_t *rp, const char *path, char *errstr,
                       size_t errstr_size)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size, "events file %s: %s", path,
                         strerror(errno));
                return 2;
        }
        const char *file = base_name(path);
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        long long lineno = 0;
        while (!rp->failed && (got = getline(&line, &cap, f)) >= 0) {
                size_t n = (size_t)got;
                lineno++;
                const char *s = line;
                while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                        n--;
                if (lineno == 1 && n >= 3 &&
                    memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
                        s += 3;
                        n -= 3;
                }
                if (jsonv_is_blank(s, n))
                        continue;
                handle_line(rp, file, lineno, s, n);
        }
        free(line);
        bool err = ferror(f);
        fclose(f);
        if (err) {
                snprintf(errstr, errstr_size, "events file %s: read error",
                         path);
                return 1;
        }
        return 0;
}

/* ---- end of input ------------------------------------------------------ */

static void close_everything(replay_t *rp)
{
        rp->wm = PTIME_FOREVER; /* SPEC §6: at end of input every day closes */
        fire_due(rp);
        /* SPEC §7: no_presence_data for each workday between the first and
         * the last date in service that is not in service itself. */
        int32_t first = 0, last = -1;
        bool any = false;
        for (size_t i = 0; i < rp->n_dates; i++)
                if (rp->dates[i].in_service) {
                        if (!any)
                                first = rp->dates[i].day;
                        last = rp->dates[i].day;
                        any = true;
                }
        for (int32_t d = first; any && d <= last; d++)
                if (eval_is_workday(&rp->ctx, d) && !in_service(rp, d)) {
                        out_alert_no_presence(&rp->w, &rp->ctx, d,
                                              eval_day_close(&rp->ctx, d));
                        emit(rp, rp->f_alert);
                        rp->st->alerts++;
                }
}

static const replay_t *sort_rp; /* qsort has no context argument in C11 */

static int final_cmp(const void *a, const void *b)
{
        const report_row_t *x = a, *y = b;
        if (x->day != y->day)
                return x->day < y->day ? -1 : 1;
        int c = strcmp(sort_rp->roster->emp[x->emp].employee_id,
                       sort_rp->roster->emp[y->emp].employee_id);
        if (c)
                return c;
        if (x->p->d.kind != y->p->d.kind)
                return x->p->d.kind < y->p->d.kind ? -1 : 1;
        return strcmp(x->p->d.subject, y->p->d.subject);
}

static int digest_cmp(const void *a, const void *b)
{
        const report_digest_t *x = a, *y = b;
        if (x->day != y->day)
                return x->day < y->day ? -1 : 1;
        return strcmp(x->unit_id, y->unit_id);
}

/* The daily digest per unit over every date in service. */
static void print_digest(replay_t *rp, FILE *f)
{
        size_t cap = 64, n = 0;
        report_digest_t *rows = calloc(cap, sizeof(*rows));
        for (size_t di = 0; rows && di < rp->n_dates; di++) {
                int32_t day = rp->dates[di].day;
                if (!rp->dates[di].in_service)
                        continue;
                size_t first = n;
                for (size_t e = 0; e < rp->roster->n && rows; e++) {
                        emp_state_t *es = &rp->emps[e];
                        const roster_emp_t *re = &rp->roster->emp[e];
                        if (!eval_expected(&rp->ctx, (int32_t)e, day, true,
                                           (eval_excuses_t){es->ex, es->n_ex}))
                                continue;
                        size_t u;
                        for (u = first; u < n; u++)
                                if (strcmp(rows[u].unit_id, re->unit_id) == 0)
                                        break;
                        if (u == n) {
                                if (n == cap) {
                                        cap *= 2;
                                        report_digest_t *nr = realloc(
                                                rows, cap * sizeof(*nr));
                                        if (!nr) {
                                                free(rows);
                                                rows = NULL;
                                                break;
                                        }
                                        rows = nr;
                                }
                                memset(&rows[n], 0, sizeof(rows[n]));
                                rows[n].day = day;
                                rows[n].unit_id = re->unit_id;
                                rows[n].unit_name = re->unit_name;
                                n++;
                        }
                        report_digest_t *r = &rows[u];
                        r->expected++;
                        day_state_t *ds = day_find(es, day);
                        bool late = false, any = false;
                        for (size_t k = 0; ds && k < ds->ledger.n; k++) {
                                const eval_pub_t *p = &ds->ledger.v[k];
                                if (!p->active)
                                        continue;
                                any = true;
                                late |= p->d.kind == VK_LATE_CLOCK_IN;
                                r->by_kind[p->d.kind]++;
                        }
                        r->compliant += !any;
                        if (ds && (ds->att.has_in || ds->att.has_out)) {
                                if (ds->att.has_wfh)
                                        r->present_wfh++;
                                else
                                        r->present_wfo++;
                        }
                        r->on_time += ds && ds->att.has_in && !late;
                }
        }
        if (!rows) {
                rp->failed = true;
                return;
        }
        qsort(rows, n, sizeof(*rows), digest_cmp);
        report_print_digest(f, rows, n);
        free(rows);
}

/* violations.jsonl: one line per violation_id with its final revision,
 * sorted by date, employee, kind and subject for people reading it. */
static void write_final(replay_t *rp, FILE *f, FILE *table)
{
        size_t n = 0, cap = 1024;
        report_row_t *rows = malloc(cap * sizeof(*rows));
        if (!rows) {
                rp->failed = true;
                return;
        }
        for (size_t e = 0; e < rp->roster->n; e++) {
                emp_state_t *es = &rp->emps[e];
                for (uint32_t i = 0; i < es->n_days; i++) {
                        day_state_t *ds = es->days[i];
                        for (size_t k = 0; k < ds->ledger.n; k++) {
                                if (n == cap) {
                                        cap *= 2;
                                        report_row_t *nr =
                                            realloc(rows, cap * sizeof(*nr));
                                        if (!nr) {
                                                free(rows);
                                                rp->failed = true;
                                                return;
                                        }
                                        rows = nr;
                                }
                                rows[n++] = (report_row_t){(int32_t)e, ds->day,
                                                           &ds->ledger.v[k]};
                        }
                }
        }
        sort_rp = rp;
        qsort(rows, n, sizeof(*rows), final_cmp);
        for (size_t i = 0; i < n; i++) {
                out_violation(&rp->w, &rp->ctx, rows[i].emp, rows[i].day,
                              rows[i].p);
                emit(rp, f);
                rp->st->violations++;
                rp->st->active += rows[i].p->active;
        }
        if (table) {
                report_print(table, &rp->ctx, rows, n);
                print_digest(rp, table);
        }
        free(rows);
}

/* ---- set-up and tear-down ---------------------------------------------- */

/* mkdir -p: the output folder and its missing parents. */
static int make_dirs(const char *dir)
{
        char path[4096];
        size_t n = strlen(dir);
        if (n == 0 || n >= sizeof(path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(path, dir, n + 1);
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0755) != 0 && errno != EEXIST)
                        return -1;
                *p = '/';
        }
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return -1;
        return 0;
}

static FILE *open_out(const char *dir, const char *name, char *errstr,
                      size_t errstr_size)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        if (f)
                setvbuf(f, NULL, _IOFBF, 1 << 20); /* fewer write calls */
        if (!f)
                snprintf(errstr, errstr_size, "cannot write %s: %s", path,
                         strerror(errno));
        return f;
}

static void replay_free(replay_t *rp)
{
        if (rp->roster && rp->emps) {
                for (size_t e = 0; e < rp->roster->n; e++) {
                        emp_state_t *es = &rp->emps[e];
                        for (uint32_t i = 0; i < es->n_days; i++) {
                                free(es->days[i]->calls);
                                eval_ledger_free(&es->days[i]->ledger);
                                free(es->days[i]);
                        }
                        free(es->days);
                        free(es->day_keys);
                        for (uint32_t i = 0; i < es->n_ex; i++)
                                free((void *)es->ex[i]);
                        free(es->ex);
                }
        }
        free(rp->emps);
        free(rp->dates);
        free(rp->heap);
        for (int t = 0; t < TOPIC__COUNT; t++)
                strmap_free(rp->seen[t]);
        while (rp->calls) {
                call_chunk_t *next = rp->calls->next;
                free(rp->calls);
                rp->calls = next;
        }
        eval_list_free(&rp->scratch);
        jw_free(&rp->w);
        free(rp->call_buf);
        policy_free(rp->policy);
        roster_free(rp->roster);
        calendar_free(rp->calendar);
}

static bool close_file(FILE *f)
{
        return !f || fclose(f) == 0;
}

int replay_run(const replay_opts_t *o, replay_stats_t *stats, char *errstr,
               size_t errstr_size)
{
        replay_stats_t local;
        replay_t rp = {0};
        FILE *f_viol = NULL;
        int rc = 2;
        rp.st = stats ? stats : &local;
        jw_init(&rp.w);
        memset(rp.st, 0, sizeof(*rp.st));
        if (!(rp.policy = policy_load(o->policy, errstr, errstr_size)) ||
            !(rp.roster = roster_load(o->roster, errstr, errstr_size)) ||
            !(rp.calendar = calendar_load(o->calendar, errstr, errstr_size)))
                goto out;
        rp.ctx = (eval_ctx_t){rp.policy, rp.calendar, rp.roster};
        rc = 1;
        rp.emps = calloc(rp.roster->n ? rp.roster->n : 1, sizeof(*rp.emps));
        for (int t = 0; t < TOPIC__COUNT; t++)
                if (!(rp.seen[t] = strmap_new()))
                        rp.failed = true;
        if (!rp.emps || rp.failed) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        if (make_dirs(o->out_dir) != 0) {
                snprintf(errstr, errstr_size, "cannot create %s: %s",
                         o->out_dir, strerror(errno));
                rc = 2;
                goto out;
        }
        if (!(rp.f_rev = open_out(o->out_dir, "revisions.jsonl", errstr,
                                  errstr_size)) ||
            !(rp.f_alert =
                  open_out(o->out_dir, "alerts.jsonl", errstr, errstr_size)) ||
            !(rp.f_tpp =
                  open_out(o->out_dir, "tpp.jsonl", errstr, errstr_size)) ||
            !(rp.f_dlq =
                  open_out(o->out_dir, "dlq.jsonl", errstr, errstr_size)) ||
            !(f_viol = open_out(o->out_dir, "violations.jsonl", errstr,
                                errstr_size)))
                goto out;
        for (size_t i = 0; i < o->n_events; i++) {
                int r = read_events(&rp, o->events[i], errstr, errstr_size);
                if (r != 0) {
                        rc = r;
                        goto out;
                }
        }
        close_everything(&rp);
        write_final(&rp, f_viol, o->table);
        if (rp.failed) {
                snprintf(errstr, errstr_size,
                         "out of memory or write error in %s", o->out_dir);
                goto out;
        }
        rc = 0;
out:
        if (!close_file(rp.f_rev) || !close_file(rp.f_alert) ||
            !close_file(rp.f_tpp) || !close_file(rp.f_dlq) ||
            !close_file(f_viol)) {
                if (rc == 0)
                        snprintf(errstr, errstr_size, "write error in %s",
                                 o->out_dir);
                rc = rc == 0 ? 1 : rc;
        }
        replay_free(&rp);
        return rc;
}

#include "eval.h"

#include "tz.h"

#include <stdlib.h>
#include <string.h>

/* ---- presence summary -------------------------------------------------- */

/* Ties at the same instant go to the smaller event_id so that the evidence
 * does not depend on arrival order. */
static bool earlier(ptime_t a, const char *ea, ptime_t b, const char *eb)
{
        int c = ptime_cmp(a, b);
        return c < 0 || (c == 0 && strcmp(ea, eb) < 0);
}

void eval_att_add(eval_att_t *a, bool clock_out, bool wfh, ptime_t at,
                  const char *event_id)
{
        if (!clock_out) {
                if (!a->has_in ||
                    earlier(at, event_id, a->in_at, a->in_event)) {
                        a->has_in = true;
                        a->in_at = at;
                        a->in_event = event_id;
                }
        } else {
                /* the latest clock_out; ties to the smaller id as well */
                int c = a->has_out ? ptime_cmp(at, a->out_at) : 1;
                if (c > 0 || (c == 0 && strcmp(event_id, a->out_event) < 0)) {
                        a->has_out = true;
                        a->out_at = at;
                        a->out_event = event_id;
                }
        }
        if (wfh &&
            (!a->has_wfh || earlier(at, event_id, a->wfh_at, a->wfh_event))) {
                a->has_wfh = true;
                a->wfh_at = at;
                a->wfh_event = event_id;
        }
}

/* ---- who is expected, where (SPEC §3.1) -------------------------------- */

/* SPEC §1.3 and §7: per excuse_id, among the versions that arrived by
 * D + amend_horizon_days, the one with the greatest (updated_at, event_id)
 * is in force; it excuses D when it covers D and is not revoked. */
bool eval_excused(const eval_ctx_t *ctx, eval_excuses_t ex, int32_t day)
{
        int64_t limit = (int64_t)day + ctx->policy->amend_horizon_days;
        for (size_t i = 0; i < ex.n; i++) {
                const eval_excuse_t *a = ex.v[i];
                if (a->revoked || day < a->from || day > a->to)
                        continue;
                if (a->has_arrival && a->arrival_day > limit)
                        continue;
                /* a could excuse D: is it the version in force? */
                bool in_force = true;
                for (size_t j = 0; j < ex.n && in_force; j++) {
                        const eval_excuse_t *b = ex.v[j];
                        if (b == a || strcmp(b->excuse_id, a->excuse_id) != 0)
                                continue;
                        if (b->has_arrival && b->arrival_day > limit)
                                continue;
                        int c = ptime_cmp(b->updated_at, a->updated_at);
                        if (c > 0 ||
                            (c == 0 && strcmp(b->event_id, a->event_id) > 0))
                                in_force = false;
                }
                if (in_force)
                        return true;
        }
        return false;
}

bool eval_is_workday(const eval_ctx_t *ctx, int32_t day)
{
        return ctx->policy->workday[ptime_weekday(day)] &&
               !calendar_is_holiday(ctx->calendar, day);
}

bool eval_expected(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                   bool in_service, eval_excuses_t ex)
{
        const roster_emp_t *e = &ctx->roster->emp[emp];
        return in_service && eval_is_workday(ctx, day) && e->active &&
               day >= e->expected_from && !eval_excused(ctx, ex, day);
}

bool eval_mode_wfh(const eval_ctx_t *ctx, int32_t emp, int32_t day)
{
        const policy_t *p = ctx->policy;
        return p->wfh_day[ptime_weekday(day)] &&
               (!p->has_wfh_from || day >= p->wfh_from) &&
               !calendar_is_wfh_suspended(ctx->calendar, day) &&
               !roster_wfh_exempt(ctx->roster, p, emp);
}

ptime_t eval_day_close(const eval_ctx_t *ctx, int32_t day)
{
        return (ptime_t){tz_utc_of_local(ctx->policy->tz, day + 1, 0), 0};
}

ptime_t eval_alert_due(const eval_ctx_t *ctx, int32_t day)
{
        int start, end;
        if (!calendar_hours(ctx->calendar, ctx->policy, day, &start, &end))
                return PTIME_FOREVER;
        return (ptime_t){
            tz_utc_of_local(ctx->policy->tz, day,
                            start + ctx->policy->not_clocked_in_alert_minutes),
            0};
}

ptime_t eval_call_due(const eval_ctx_t *ctx, ptime_t at)
{
        /* The window is [t, t + callback] in whole minutes, inclusive: it
         * has passed at the start of minute(t) + callback + 1. */
        const tz_t *tz = ctx->policy->tz;
        int64_t m = tz_local_minute(tz, at);
        int32_t day = (int32_t)ptime_floordiv(m, 1440);
        int64_t mod = m - (int64_t)day * 1440;
        return (ptime_t){
            tz_utc_of_local(tz, day, mod + ctx->policy->callback_minutes + 1),
            0};
}

bool eval_not_clocked_in(const eval_ctx_t *ctx, const eval_day_in_t *in,
                         bool alerted, ptime_t wm)
{
        if (alerted || ptime_cmp(wm, eval_day_close(ctx, in->day)) >= 0)
                return false;
        ptime_t due = eval_alert_due(ctx, in->day);
        const eval_att_t *a = in->att;
        if (a && a->has_in && a->in_at.sec < due.sec + 60)
                return false;
        return eval_expected(ctx, in->emp, in->day, in->in_service,
                             in->excuses);
}

bool eval_outage_undecided(int32_t d, int32_t last_in_service, int32_t today)
{
        return d > last_in_service && (int64_t)d < (int64_t)today - 1;
}

bool eval_outage_raised(const eval_ctx_t *ctx, int32_t d, bool in_service)
{
        return !in_service && eval_is_workday(ctx, d);
}

const char *eval_alert_recipient(const roster_t *r, int32_t emp)
{
        const roster_emp_t *e = &r->emp[emp];
        return e->supervisor_id ? e->supervisor_id
               : e->head_id     ? e->head_id
                                : "operators";
}

int64_t eval_tpp_amount(int64_t tpp_monthly, int64_t pct_u)
{
        /* tpp x pct / 100 with pct in millionths: / 1e8, half up. */
        __int128 x = (__int128)tpp_monthly * pct_u + 50000000;
        return (int64_t)(x / 100000000);
}

/* ---- decisions ---------------------------------------------------------- */

void eval_list_free(eval_list_t *l)
{
        free(l->v);
        l->v = NULL;
        l->n = l->cap = 0;
}

static eval_decision_t *push(eval_list_t *l)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 8;
                eval_decision_t *v = realloc(l->v, cap * sizeof(*v));
                if (!v)
                        return NULL;
                l->v = v;
                l->cap = cap;
        }
        eval_decision_t *d = &l->v[l->n++];
        memset(d, 0, sizeof(*d));
        d->subject = "";
        d->minutes = -1;
        d->caller = -1;
        return d;
}

static void add_evidence(eval_decision_t *d, const char *id)
{
        if (d->n_evidence < EVAL_MAX_EVIDENCE)
                d->evidence[d->n_evidence++] = id;
}

static void grade(const eval_ctx_t *ctx, eval_decision_t *d, int32_t emp)
{
        if (d->band) {
                d->pct = d->band->pct;
                d->pct_u = d->band->pct_u;
        } else {
                d->pct = ctx->policy->kind[d->kind].pct;
                d->pct_u = ctx->policy->kind[d->kind].pct_u;
        }
        d->amount =
            eval_tpp_amount(ctx->roster->emp[emp].tpp_monthly, d->pct_u);
}

static int attendance(const eval_ctx_t *ctx, const eval_day_in_t *in, int start,
                      int end, bool closed, bool wfh_expected, eval_list_t *out)
{
        static const eval_att_t none;
        const eval_att_t *a = in->att ? in->att : &none;
        const policy_t *p = ctx->policy;
        const tz_t *tz = p->tz;
        int64_t base = (int64_t)in->day * 1440;
        eval_decision_t *d;

        if (!a->has_in && !a->has_out) {
                if (closed) {
                        if (!(d = push(out)))
                                return -1;
                        d->kind = VK_ABSENT;
                }
        } else {
                if (!a->has_in) {
                        if (closed) {
                                if (!(d = push(out)))
                                        return -1;
                                d->kind = VK_MISSING_CLOCK_IN;
                                add_evidence(d, a->out_event);
                        }
                } else {
                        int64_t late =
                            tz_local_minute(tz, a->in_at) - base - start;
                        const policy_band_t *b =
                            late >= 1
                                ? policy_band_for(p->late, p->n_late, late)
                                : NULL;
                        if (b) {
                                if (!(d = push(out)))
                                        return -1;
                                d->kind = VK_LATE_CLOCK_IN;
                                d->band = b;
                                d->minutes = late;
                                add_evidence(d, a->in_event);
                        }
                }
                if (!a->has_out) {
                        if (closed) {
                                if (!(d = push(out)))
                                        return -1;
                                d->kind = VK_MISSING_CLOCK_OUT;
                                add_evidence(d, a->in_event);
                        }
                } else if (closed) {
                        int64_t early =
                            end - (tz_local_minute(tz, a->out_at) - base);
                        const policy_band_t *b =
                            early >= 1
                                ? policy_band_for(p->early, p->n_early, early)
                                : NULL;
                        if (b) {
                                if (!(d = push(out)))
                                        return -1;
                                d->kind = VK_EARLY_CLOCK_OUT;
                                d->band = b;
                                d->minutes = early;
                                add_evidence(d, a->out_event);
                        }
                }
        }
        if (a->has_wfh && !wfh_expected) {
                if (!(d = push(out)))
                        return -1;
                d->kind = VK_WFH_NOT_PERMITTED;
                add_evidence(d, a->wfh_event);
        }
        return 0;
}

/* Unanswered duty-call candidates, sortable into groups per caller. */
typedef struct cand {
        const eval_call_t *c;
        int64_t minute;
} cand_t;

static int cand_cmp(const void *x, const void *y)
{
        const cand_t *a = x, *b = y;
        if (a->c->caller != b->c->caller)
                return a->c->caller < b->c->caller ? -1 : 1;
        int c = ptime_cmp(a->c->at, b->c->at);
        if (c)
                return c;
        return strcmp(a->c->call_id, b->c->call_id);
}

static bool is_duty(const eval_ctx_t *ctx, const eval_day_in_t *in, int32_t x,
                    bool y_wfh)
{
        const roster_emp_t *ye = &ctx->roster->emp[in->emp];
        const roster_emp_t *xe = &ctx->roster->emp[x];
        if (x == in->emp)
                return false; /* a self-call is nobody's duty call */
        if ((x == ye->supervisor || x == ye->head) && y_wfh)
                return true;
        if (in->emp == xe->supervisor || in->emp == xe->head) {
                /* "dan sebaliknya": the caller must be on WFH itself */
                eval_excuses_t xex = in->excuses_of ? in->excuses_of(in->ud, x)
                                                    : (eval_excuses_t){NULL, 0};
                return eval_expected(ctx, x, in->day, true, xex) &&
                       eval_mode_wfh(ctx, x, in->day);
        }
        return false;
}

/* Answered calls of E's day, by counterpart then minute, so that each
 * candidate's settlement is a binary search instead of a scan (a busy day
 * of calls would otherwise cost the cube of its size). */
typedef struct answered {
        int32_t other;
        int64_t minute;
} answered_t;

static int answered_cmp(const void *x, const void *y)
{
        const answered_t *a = x, *b = y;
        if (a->other != b->other)
                return a->other < b->other ? -1 : 1;
        return a->minute < b->minute ? -1 : a->minute > b->minute;
}

/* An answered call between E and `other` rang in [m, m + callback]. */
static bool settled(const eval_ctx_t *ctx, const answered_t *ans, size_t n,
                    int32_t other, int64_t m)
{
        size_t lo = 0, hi = n; /* first entry >= (other, m) */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ans[mid].other < other ||
                    (ans[mid].other == other && ans[mid].minute < m))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && ans[lo].other == other &&
               ans[lo].minute <= m + ctx->policy->callback_minutes;
}

static int calls(const eval_ctx_t *ctx, const eval_day_in_t *in, int start,
                 int end, bool y_wfh, ptime_t wm, eval_list_t *out)
{
        const tz_t *tz = ctx->policy->tz;
        int64_t base = (int64_t)in->day * 1440;
        cand_t local[32], *cands = local; /* heap only for busy days */
        answered_t alocal[32], *ans = alocal;
        size_t n = 0, na = 0;
        if (in->n_calls > 32) {
                cands = malloc(in->n_calls * sizeof(*cands));
                ans = malloc(in->n_calls * sizeof(*ans));
                if (!cands || !ans) {
                        free(cands);
                        free(ans);
                        return -1;
                }
        }
        for (size_t i = 0; i < in->n_calls; i++) {
                const eval_call_t *c = in->calls[i];
                if (c->outcome != EVAL_CALL_ANSWERED ||
                    (c->caller != in->emp && c->callee != in->emp))
                        continue;
                ans[na++] =
                    (answered_t){c->caller == in->emp ? c->callee : c->caller,
                                 tz_local_minute(tz, c->at)};
        }
        if (na > 1)
                qsort(ans, na, sizeof(*ans), answered_cmp);
        for (size_t i = 0; i < in->n_calls; i++) {
                const eval_call_t *c = in->calls[i];
                if (c->callee != in->emp || c->caller < 0 ||
                    c->outcome == EVAL_CALL_ANSWERED)
                        continue;
                int64_t m = tz_local_minute(tz, c->at);
                if (m - base < start || m - base > end)
                        continue; /* also drops the calls of D+1 */
                if (!is_duty(ctx, in, c->caller, y_wfh) ||
                    settled(ctx, ans, na, c->caller, m))
                        continue;
                cands[n++] = (cand_t){c, m};
        }
        if (n > 1)
                qsort(cands, n, sizeof(*cands), cand_cmp);
        int64_t cb = ctx->policy->callback_minutes;
        for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                while (j < n && cands[j].c->caller == cands[i].c->caller &&
                       cands[j].minute <= cands[i].minute + cb)
                        j++;
                if (ptime_cmp(wm, eval_call_due(ctx, cands[i].c->at)) > 0) {
                        eval_decision_t *d = push(out);
                        if (!d) {
                                if (cands != local) {
                                        free(cands);
                                        free(ans);
                                }
                                return -1;
                        }
                        d->kind = VK_UNANSWERED_CALL;
                        d->subject = cands[i].c->call_id;
                        d->caller = cands[i].c->caller;
                        d->call_at = cands[i].c->at;
                        for (size_t k = i; k < j; k++)
                                add_evidence(d, cands[k].c->call_id);
                }
                i = j;
        }
        if (cands != local) {
                free(cands);
                free(ans);
        }
        return 0;
}

int eval_day(const eval_ctx_t *ctx, const eval_day_in_t *in, ptime_t wm,
             eval_list_t *out)
{
        out->n = 0;
        if (!eval_expected(ctx, in->emp, in->day, in->in_service, in->excuses))
                return 0;
        int start, end;
        if (!calendar_hours(ctx->calendar, ctx->policy, in->day, &start, &end))
                return 0;
        bool closed = ptime_cmp(wm, eval_day_close(ctx, in->day)) > 0;
        bool y_wfh = eval_mode_wfh(ctx, in->emp, in->day);
        if (attendance(ctx, in, start, end, closed, y_wfh, out) < 0 ||
            calls(ctx, in, start, end, y_wfh, wm, out) < 0)
                return -1;
        for (size_t i = 0; i < out->n; i++)
                grade(ctx, &out->v[i], in->emp);
        return (int)out->n;
}

/* ---- reconciliation with what was published ---------------------------- */

void eval_ledger_free(eval_ledger_t *l)
{
        free(l->v);
        l->v = NULL;
        l->n = l->cap = 0;
}

eval_pub_t *eval_ledger_push(eval_ledger_t *l, const eval_pub_t *p)
{
        if (l->n == l->cap) {
                /* most employee-days publish one decision, and an entry
                 * is large (its evidence): start with room for one */
                size_t cap = l->cap ? l->cap * 2 : 1;
                eval_pub_t *v = realloc(l->v, cap * sizeof(*v));
                if (!v)
                        return NULL;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n] = *p;
        return &l->v[l->n++];
}

static bool same_key(const eval_decision_t *a, const eval_decision_t *b)
{
        return a->kind == b->kind && strcmp(a->subject, b->subject) == 0;
}

static bool same_grade(const eval_decision_t *a, const eval_decision_t *b)
{
        return a->band == b->band && a->minutes == b->minutes &&
               a->pct_u == b->pct_u && a->amount == b->amount;
}

/* Decisions that replace one another for the same day. */
static int family(vkind_t k)
{
        switch (k) {
        case VK_ABSENT:
        case VK_MISSING_CLOCK_IN:
        case VK_MISSING_CLOCK_OUT:
                return 1;
        case VK_LATE_CLOCK_IN:
                return 2;
        case VK_EARLY_CLOCK_OUT:
                return 3;
        case VK_UNANSWERED_CALL:
                return 4;
        default:
                return 5 + (int)k;
        }
}

int eval_reconcile(eval_ledger_t *ledger, const eval_list_t *now, bool excused)
{
        int nch = 0;
        size_t old_n = ledger->n;
        for (size_t i = 0; i < now->n; i++) {
                const eval_decision_t *d = &now->v[i];
                size_t k;
                for (k = 0; k < old_n; k++)
                        if (same_key(&ledger->v[k].d, d))
                                break;
                if (k == old_n) {
                        eval_pub_t fresh = {0};
                        fresh.d = *d;
                        fresh.revision = 1;
                        fresh.active = true;
                        fresh.newly_active = true;
                        fresh.changed = true;
                        if (!eval_ledger_push(ledger, &fresh))
                                return -1;
                        nch++;
                        continue;
                }
                eval_pub_t *p = &ledger->v[k];
                if (!p->active || !same_grade(&p->d, d)) {
                        p->newly_active = !p->active;
                        p->d = *d;
                        p->revision++;
                        p->active = true;
                        p->reason = NULL;
                        p->changed = true;
                        nch++;
                }
        }
        for (size_t k = 0; k < old_n; k++) {
                eval_pub_t *p = &ledger->v[k];
                if (!p->active)
                        continue;
                bool kept = false, replaced = false;
                for (size_t i = 0; i < now->n; i++) {
                        if (same_key(&p->d, &now->v[i]))
                                kept = true;
                        else if (family(now->v[i].kind) == family(p->d.kind))
                                replaced = true;
                }
                if (kept)
                        continue;
                p->active = false;
                p->newly_active = false;
                p->revision++;
                p->reason = excused    ? "excused"
                            : replaced ? "superseded"
                                       : "late_data";
                p->changed = true;
                nch++;
        }
        return nch;
}

bool eval_pub_tpp_event(const eval_pub_t *p)
{
        return p->d.pct_u > 0 || p->tpp_sent;
}

bool eval_pub_alert(const eval_pub_t *p)
{
        return p->newly_active;
}

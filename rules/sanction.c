#include "sanction.h"

#include "eval.h"
#include "ptime.h"
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

/*
 * The employees a report has rows for: roster rows first (by row index),
 * then those only known from their violations (by employee_id, in the
 * order met).  slot_of() maps a violation to its accumulator.
 */
typedef struct slots {
        size_t n_roster;
        strmap_t *extra;                 /* employee_id -> n_roster + i */
        const sanction_viol_t **extra_v; /* first violation of each extra */
        size_t n_extra, cap_extra;
} slots_t;

static bool slots_init(slots_t *s, const roster_t *r)
{
        memset(s, 0, sizeof(*s));
        s->n_roster = r->n;
        return (s->extra = strmap_new()) != NULL;
}

static void slots_free(slots_t *s)
{
        strmap_free(s->extra);
        free(s->extra_v);
}

/* The accumulator index of v's employee, or -1 on allocation failure. */
static long slot_of(slots_t *s, const roster_t *r, const sanction_viol_t *v)
{
        size_t len = strlen(v->employee_id);
        int32_t row = roster_find(r, v->employee_id, len);
        if (row >= 0)
                return row;
        bool added = false;
        int32_t i = strmap_put(s->extra, v->employee_id, len,
                               (int32_t)s->n_extra, &added);
        if (i == INT32_MIN)
                return -1;
        if (added) {
                if (s->n_extra == s->cap_extra) {
                        size_t cap = s->cap_extra ? s->cap_extra * 2 : 8;
                        const sanction_viol_t **nv =
                            realloc(s->extra_v, cap * sizeof(*nv));
                        if (!nv)
                                return -1;
                        s->extra_v = nv;
                        s->cap_extra = cap;
                }
                s->extra_v[s->n_extra++] = v;
        }
        return (long)(s->n_roster + (size_t)i);
}

static void month_of(int32_t day, int *y, int *m)
{
        int d;
        ptime_civil_from_days(day, y, m, &d);
}

/* Fills who a row is about: the roster's facts, or the violation's. */
static void who(const roster_t *r, const slots_t *s, size_t slot, int32_t *emp,
                const char **id, const char **name, const char **unit)
{
        if (slot < s->n_roster) {
                const roster_emp_t *e = &r->emp[slot];
                *emp = (int32_t)slot;
                *id = e->employee_id;
                *name = e->name[0] ? e->name : NULL;
                *unit = e->unit_id;
        } else {
                const sanction_viol_t *v = s->extra_v[slot - s->n_roster];
                *emp = -1;
                *id = v->employee_id;
                *name = NULL;
                *unit = v->unit_id;
        }
}

/* The accumulator of each active violation dated in the year (and the
 * month, when month > 0), -2 for the others; NULL on allocation
 * failure.  Caller frees. */
static long *select_slots(slots_t *s, const roster_t *r,
                          const sanction_viol_t *v, size_t n, int year,
                          int month)
{
        long *slot = malloc((n ? n : 1) * sizeof(*slot));
        for (size_t i = 0; slot && i < n; i++) {
                int y, m;
                month_of(v[i].day, &y, &m);
                slot[i] = -2;
                if (!v[i].active || y != year || (month > 0 && m != month))
                        continue;
                if ((slot[i] = slot_of(s, r, &v[i])) < 0) {
                        free(slot);
                        return NULL;
                }
        }
        return slot;
}

static int payroll_cmp(const void *a, const void *b)
{
        const sanction_payroll_t *x = a, *y = b;
        return strcmp(x->employee_id, y->employee_id);
}

long sanction_payroll_month(const policy_t *p, const roster_t *r,
                            const sanction_viol_t *v, size_t n, int year,
                            int month, sanction_payroll_t **rows)
{
        slots_t s;
        long out = -1;
        sanction_payroll_t *acc = NULL;
        bool *seen = NULL;
        if (!slots_init(&s, r))
                return -1;
        /* first pass: who has an active violation in the month */
        long *slot = select_slots(&s, r, v, n, year, month);
        if (!slot)
                goto out;
        size_t total = s.n_roster + s.n_extra;
        acc = calloc(total ? total : 1, sizeof(*acc));
        seen = calloc(total ? total : 1, sizeof(*seen));
        if (!acc || !seen)
                goto out;
        for (size_t e = 0; e < r->n; e++)
                seen[e] = r->emp[e].active;
        for (size_t i = 0; i < n; i++) {
                if (slot[i] < 0)
                        continue;
                sanction_payroll_t *a = &acc[slot[i]];
                seen[slot[i]] = true;
                a->by_kind[v[i].kind]++;
                a->pct_u += v[i].pct_u;
        }
        size_t k = 0;
        for (size_t i = 0; i < total; i++) {
                if (!seen[i])
                        continue;
                sanction_payroll_t *a = &acc[k++];
                if (a != &acc[i])
                        *a = acc[i];
                who(r, &s, i, &a->emp, &a->employee_id, &a->name, &a->unit_id);
                /* an employee known only from violations has no TPP on
                 * record here: nothing to deduct from */
                a->tpp_monthly = a->emp >= 0 ? r->emp[a->emp].tpp_monthly : 0;
                a->pct_capped_u =
                    a->pct_u < p->cap_pct_u ? a->pct_u : p->cap_pct_u;
                a->deduction = eval_tpp_amount(a->tpp_monthly, a->pct_capped_u);
                a->tpp_after = a->tpp_monthly - a->deduction;
        }
        qsort(acc, k, sizeof(*acc), payroll_cmp);
        *rows = acc;
        acc = NULL;
        out = (long)k;
out:
        free(acc);
        free(seen);
        free(slot);
        slots_free(&s);
        return out;
}

/* The ladder step with the greatest threshold <= x (steps are validated
 * ascending), or NULL. */
static const policy_ladder_step_t *
ladder_step(const policy_ladder_step_t *steps, size_t n, int64_t x)
{
        const policy_ladder_step_t *best = NULL;
        for (size_t i = 0; i < n; i++)
                if (steps[i].from <= x && (!best || steps[i].from > best->from))
                        best = &steps[i];
        return best;
}

static int discipline_cmp(const void *a, const void *b)
{
        const sanction_discipline_t *x = a, *y = b;
        return strcmp(x->employee_id, y->employee_id);
}

long sanction_discipline_year(const policy_t *p, const roster_t *r,
                              const sanction_viol_t *v, size_t n, int year,
                              sanction_discipline_t **rows)
{
        slots_t s;
        long out = -1;
        sanction_discipline_t *acc = NULL;
        bool *seen = NULL;
        if (!slots_init(&s, r))
                return -1;
        long *slot = select_slots(&s, r, v, n, year, 0);
        if (!slot)
                goto out;
        size_t total = s.n_roster + s.n_extra;
        acc = calloc(total ? total : 1, sizeof(*acc));
        seen = calloc(total ? total : 1, sizeof(*seen));
        if (!acc || !seen)
                goto out;
        for (size_t i = 0; i < n; i++) {
                if (slot[i] < 0)
                        continue;
                sanction_discipline_t *a = &acc[slot[i]];
                seen[slot[i]] = true;
                if (v[i].kind == VK_UNANSWERED_CALL)
                        a->unanswered_calls++;
                if (!p->has_discipline)
                        continue;
                int64_t w = p->discipline_minutes[v[i].kind];
                /* "actual": the violation's own minutes (none: 0) */
                if (w < 0)
                        w = v[i].minutes > 0 ? v[i].minutes : 0;
                a->minutes += w;
        }
        size_t k = 0;
        for (size_t i = 0; i < total; i++) {
                if (!seen[i])
                        continue;
                sanction_discipline_t *a = &acc[k++];
                if (a != &acc[i])
                        *a = acc[i];
                who(r, &s, i, &a->emp, &a->employee_id, &a->name, &a->unit_id);
                a->days = p->has_discipline && p->minutes_per_day > 0
                              ? a->minutes / p->minutes_per_day
                              : 0;
                a->step = p->has_discipline
                              ? ladder_step(p->ladder, p->n_ladder, a->days)
                              : NULL;
                a->call_step =
                    p->has_discipline
                        ? ladder_step(p->call_ladder, p->n_call_ladder,
                                      a->unanswered_calls)
                        : NULL;
        }
        qsort(acc, k, sizeof(*acc), discipline_cmp);
        *rows = acc;
        acc = NULL;
        out = (long)k;
out:
        free(acc);
        free(seen);
        free(slot);
        slots_free(&s);
        return out;
}

/* PP 94/2021 grades discipline ringan < sedang < berat; a level name the
 * policy invents ranks with ringan. */
static int level_rank(const policy_ladder_step_t *s)
{
        if (!s)
                return 0;
        if (strcmp(s->level, "berat") == 0)
                return 3;
        if (strcmp(s->level, "sedang") == 0)
                return 2;
        return 1;
}

static int severity_cmp(const void *a, const void *b)
{
        const sanction_discipline_t *x = a, *y = b;
        int rx = level_rank(x->step), ry = level_rank(y->step);
        int cx = level_rank(x->call_step), cy = level_rank(y->call_step);
        int mx = rx > cx ? rx : cx, my = ry > cy ? ry : cy;
        if (mx != my)
                return mx > my ? -1 : 1;
        if (x->days != y->days)
                return x->days > y->days ? -1 : 1;
        if (x->unanswered_calls != y->unanswered_calls)
                return x->unanswered_calls > y->unanswered_calls ? -1 : 1;
        if (x->minutes != y->minutes)
                return x->minutes > y->minutes ? -1 : 1;
        return strcmp(x->employee_id, y->employee_id);
}

void sanction_discipline_by_severity(sanction_discipline_t *rows, size_t n)
{
        qsort(rows, n, sizeof(*rows), severity_cmp);
}

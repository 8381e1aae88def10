#include "digest.h"

#include <stdlib.h>
#include <string.h>

bool digest_day_reported(const eval_ctx_t *ctx, int32_t day, bool in_service)
{
        /* eval_is_workday() already leaves holidays out */
        return in_service && eval_is_workday(ctx, day);
}

void digest_row_init(digest_row_t *r, int32_t day, int32_t unit_emp)
{
        memset(r, 0, sizeof(*r));
        r->day = day;
        r->unit_emp = unit_emp;
}

bool digest_row_add(const eval_ctx_t *ctx, digest_row_t *r,
                    const digest_emp_t *e)
{
        const roster_emp_t *re = &ctx->roster->emp[e->emp];
        bool expected = eval_expected(ctx, e->emp, r->day, true, e->excuses);
        bool late = false, any = false;
        for (size_t k = 0; e->ledger && k < e->ledger->n; k++) {
                const eval_pub_t *p = &e->ledger->v[k];
                if (!p->active)
                        continue;
                r->by_kind[p->d.kind]++;
                any = true;
                late |= p->d.kind == VK_LATE_CLOCK_IN;
        }
        if (!expected) {
                /* "excused": not expected only because an excuse in force
                 * covers D (the day itself counts, see
                 * digest_day_reported) */
                r->excused +=
                    re->active && eval_excused(ctx, e->excuses, r->day);
                return true;
        }
        r->expected++;
        const eval_att_t *a = e->att;
        if (a && (a->has_in || a->has_out)) {
                r->present++;
                if (a->has_wfh)
                        r->present_wfh++;
                else
                        r->present_wfo++;
        }
        r->on_time += a && a->has_in && !late;
        if (!any)
                return true;
        if (r->n_violators == r->cap_violators) {
                size_t cap = r->cap_violators ? r->cap_violators * 2 : 8;
                int32_t *v = realloc(r->violators, cap * sizeof(*v));
                if (!v)
                        return false;
                r->violators = v;
                r->cap_violators = cap;
        }
        /* kept sorted by employee_id (byte order) as it grows: a unit's
         * violators on one day are few */
        size_t i = r->n_violators++;
        while (i > 0 &&
               strcmp(ctx->roster->emp[r->violators[i - 1]].employee_id,
                      re->employee_id) > 0) {
                r->violators[i] = r->violators[i - 1];
                i--;
        }
        r->violators[i] = e->emp;
        return true;
}

void digest_row_finish(digest_row_t *r)
{
        r->compliant = r->expected - (long)r->n_violators;
        /* half-up to 4 decimals in integers: no binary rounding noise */
        r->rate_e4 = r->expected
                         ? ((int64_t)r->compliant * 20000 + r->expected) /
                               (2 * (int64_t)r->expected)
                         : 0;
}

bool digest_row_equal(const digest_row_t *a, const digest_row_t *b)
{
        if (a->day != b->day || a->unit_emp != b->unit_emp ||
            a->expected != b->expected || a->present != b->present ||
            a->present_wfo != b->present_wfo ||
            a->present_wfh != b->present_wfh || a->on_time != b->on_time ||
            a->excused != b->excused || a->compliant != b->compliant ||
            a->n_violators != b->n_violators)
                return false;
        if (memcmp(a->by_kind, b->by_kind, sizeof(a->by_kind)) != 0)
                return false;
        return a->n_violators == 0 ||
               memcmp(a->violators, b->violators,
                      a->n_violators * sizeof(*a->violators)) == 0;
}

bool digest_row_copy(digest_row_t *dst, const digest_row_t *src)
{
        int32_t *v = dst->violators;
        size_t cap = dst->cap_violators;
        if (src->n_violators > cap) {
                int32_t *nv = realloc(v, src->n_violators * sizeof(*nv));
                if (!nv)
                        return false;
                v = nv;
                cap = src->n_violators;
        }
        *dst = *src;
        dst->violators = v;
        dst->cap_violators = cap;
        if (src->n_violators)
                memcpy(v, src->violators, src->n_violators * sizeof(*v));
        return true;
}

void digest_row_free(digest_row_t *r)
{
        free(r->violators);
        r->violators = NULL;
        r->n_violators = r->cap_violators = 0;
}

/*
 * sanction — what the active violations cost an employee (SPEC §4.4):
 * the TPP cut of a payroll month, with the policy's monthly cap, and the
 * discipline of a year on the policy's ladders.
 *
 * Both are pure functions of the final violations, the roster and the
 * policy.  The violations come from wherever they were kept — a replay's
 * violations.jsonl or PostgreSQL — and are handed over as sanction_viol_t,
 * so that both sources give the same rows by the same code.  Percentages
 * are summed exactly in millionths of a percent (0.3 + 1.1 is 1.4, not
 * binary floating-point noise).
 */
#ifndef PATUH_SANCTION_H
#define PATUH_SANCTION_H

#include "policy.h"
#include "roster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One final violation as the reports read it. */
typedef struct sanction_viol {
        const char *employee_id; /* borrowed */
        const char *unit_id;     /* borrowed; used when E left the roster */
        vkind_t kind;
        int32_t day;     /* the violation's date */
        int64_t pct_u;   /* tpp_percent in millionths of a percent */
        int64_t minutes; /* -1 when null */
        bool active;     /* false: retracted (never counted) */
} sanction_viol_t;

/* One payroll row (SPEC §4.4 "Payroll month"). */
typedef struct sanction_payroll {
        int32_t emp;             /* roster row, -1 if not in the roster */
        const char *employee_id; /* borrowed (roster or violation) */
        const char *name;        /* NULL when absent */
        const char *unit_id;
        int64_t tpp_monthly;
        long by_kind[VK__COUNT];
        int64_t pct_u;        /* exact sum of tpp_percent */
        int64_t pct_capped_u; /* min(pct, tpp_monthly_cap_percent) */
        int64_t deduction;    /* rupiah, round-half-up */
        int64_t tpp_after;
} sanction_payroll_t;

/* One discipline row (SPEC §4.4 "Discipline year"). */
typedef struct sanction_discipline {
        int32_t emp;
        const char *employee_id;
        const char *name; /* NULL when absent */
        const char *unit_id;
        int64_t minutes;
        int64_t days;
        const policy_ladder_step_t *step; /* NULL: below the ladder */
        long unanswered_calls;
        const policy_ladder_step_t *call_step;
} sanction_discipline_t;

/*
 * The payroll rows of month (year, month): every active roster employee
 * and every employee with an active violation dated in the month, sorted
 * by employee_id.  Rows borrow strings from roster and v.  Returns the
 * count (caller frees *rows) or -1 on allocation failure.
 */
long sanction_payroll_month(const policy_t *p, const roster_t *r,
                            const sanction_viol_t *v, size_t n, int year,
                            int month, sanction_payroll_t **rows)
    __attribute__((warn_unused_result));

/*
 * The discipline rows of a year: every employee with at least one active
 * violation dated in it, sorted by employee_id.  A policy without a
 * `discipline` section counts no minutes and has no ladder.  Returns the
 * count (caller frees *rows) or -1 on allocation failure.
 */
long sanction_discipline_year(const policy_t *p, const roster_t *r,
                              const sanction_viol_t *v, size_t n, int year,
                              sanction_discipline_t **rows)
    __attribute__((warn_unused_result));

/* Orders discipline rows for people (`table`): most serious first — by
 * ladder level (berat, sedang, ringan, none), then days, then minutes,
 * then unanswered calls; ties by employee_id. */
void sanction_discipline_by_severity(sanction_discipline_t *rows, size_t n);

#endif

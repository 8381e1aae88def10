/*
 * digest — the daily digest rows of SPEC §4.4, computed from the engine's
 * own state.
 *
 * A row counts one unit on one date: who was expected, who was present and
 * how, who was excused, and the active violations.  It is not a second
 * reading of the records: it takes exactly what the evaluator decided with
 * (the presence summary, the excuse versions, the ledger of publications),
 * so a digest can never disagree with the violations it sums up.  Pure: no
 * I/O, no clock.  `patuh replay` writes the final rows; `patuhd` publishes
 * a row when its day closes and again whenever a later record changes it.
 */
#ifndef PATUH_DIGEST_H
#define PATUH_DIGEST_H

#include "eval.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the engine holds about employee E on day D (all borrowed). */
typedef struct digest_emp {
        int32_t emp;                 /* roster row */
        const eval_att_t *att;       /* presence summary; NULL if none */
        eval_excuses_t excuses;      /* every excuse version of E */
        const eval_ledger_t *ledger; /* publications of (E, D); may be NULL */
} digest_emp_t;

/* One row (SPEC §4.4 "Daily digest"). */
typedef struct digest_row {
        int32_t day;
        int32_t unit_emp; /* roster row whose unit_id/unit_name name the
                             unit (its first employee in roster order) */
        long expected;
        long present;
        long present_wfo;
        long present_wfh;
        long on_time;
        long excused;
        long by_kind[VK__COUNT];
        int32_t *violators; /* owned: roster rows, sorted by employee_id
                              as they are added */
        size_t n_violators, cap_violators;
        long compliant;
        int64_t rate_e4; /* compliance_rate x 10 000, rounded half-up */
} digest_row_t;

/* Whether date D gets digest rows at all: in service, a workday and not
 * a holiday (SPEC §4.4). */
bool digest_day_reported(const eval_ctx_t *ctx, int32_t day, bool in_service);

/* Starts an empty row of the unit of roster row unit_emp on day. */
void digest_row_init(digest_row_t *r, int32_t day, int32_t unit_emp);

/* Counts one employee of the row's unit (D in service).  Returns false on
 * allocation failure. */
bool digest_row_add(const eval_ctx_t *ctx, digest_row_t *r,
                    const digest_emp_t *e) __attribute__((warn_unused_result));

/* Computes compliant and the rate.  A row whose
 * `expected` is 0 is not reported (SPEC §4.4: units with at least one
 * employee expected on D). */
void digest_row_finish(digest_row_t *r);

/* Same counts, same violators (the published content). */
bool digest_row_equal(const digest_row_t *a, const digest_row_t *b);

/* Copies src into dst (dst's own array is reused or grown).  Returns
 * false on allocation failure. */
bool digest_row_copy(digest_row_t *dst, const digest_row_t *src)
    __attribute__((warn_unused_result));

void digest_row_free(digest_row_t *r);

#endif

/*
 * report — human-readable output of final violations: the table the quick
 * start prints and the per-unit counts under it, in Bahasa Indonesia for
 * the attendance officers who read them.
 */
#ifndef PATUH_REPORT_H
#define PATUH_REPORT_H

#include "../rules/digest.h"
#include "../rules/eval.h"

#include <stdio.h>

typedef struct report_row {
        int32_t emp;
        int32_t day;
        const eval_pub_t *p;
        const char *employee_id; /* borrowed from the roster, for sorting */
} report_row_t;

/* Indonesian label of a violation kind ("Terlambat masuk"). */
const char *report_kind_label(vkind_t k);

/* Prints the daily digest rows (SPEC §4.4, sorted by the caller) as a
 * table. */
void report_print_digest(FILE *f, const eval_ctx_t *ctx,
                         const digest_row_t *rows, size_t n);

/* Prints the active violations of rows (sorted by the caller) as a table,
 * then per unit: expected count of violations by kind and TPP total. */
void report_print(FILE *f, const eval_ctx_t *ctx, const report_row_t *rows,
                  size_t n);

#endif

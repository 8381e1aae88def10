/*
 * viols — final violations as the reports read them (rules/sanction.h's
 * sanction_viol_t), gathered from a replay's violations.jsonl or handed in
 * one by one (PostgreSQL rows).  Shared by `patuh payroll`/`discipline`
 * (cli_reports) and `patuh backtest` (cli_backtest), so that a replay's
 * output is read by one piece of code.
 */
#ifndef PATUH_VIOLS_H
#define PATUH_VIOLS_H

#include "../rules/sanction.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing list of violations; the strings they point to are owned. */
typedef struct viols {
        sanction_viol_t *v; /* owned, n used of cap */
        size_t n, cap;
} viols_t;

void viols_free(viols_t *vs);

/* Appends one violation (strings copied; kind by name, date YYYY-MM-DD).
 * False for an unknown kind, a bad date or on allocation failure. */
bool viols_add(viols_t *vs, const char *emp, const char *unit, const char *kind,
               const char *date, int64_t pct_u, int64_t minutes, bool active)
    __attribute__((warn_unused_result));

/*
 * Appends every line of a replay's violations.jsonl (SPEC §6), retracted
 * ones included (active false).  Returns 0, or 2 when the file cannot be
 * opened ("PATH: reason") or a line is not a violation record ("PATH line
 * N: ..."), said in errstr.
 */
int viols_read_file(viols_t *vs, const char *path, char *errstr,
                    size_t errstr_size) __attribute__((warn_unused_result));

#endif

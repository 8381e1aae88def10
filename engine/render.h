/*
 * render — the reports of SPEC §4.4 as people read them: a text table, CSV
 * for import into the payroll system, one self-contained HTML page, or the
 * SPEC rows themselves (jsonl).
 *
 * Every format is rendered from the SPEC rows as JSON text (one object per
 * row, as `patuh replay` writes them and PostgreSQL keeps them), so the
 * table, the CSV and the page can never say something the rows do not.
 * The roster only adds what the rows leave out for people: employee names
 * of the digest's violators, unit names, the head of a unit who signs its
 * payroll sheet.  Texts are in Bahasa Indonesia.
 */
#ifndef PATUH_RENDER_H
#define PATUH_RENDER_H

#include "../rules/policy.h"
#include "../rules/roster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum render_fmt {
        RENDER_TABLE,
        RENDER_JSONL,
        RENDER_CSV,
        RENDER_HTML
} render_fmt_t;

/* "table", "jsonl", "csv", "html" -> the format, or -1. */
int render_fmt_from_name(const char *name);

/* The rows handed to a renderer: n JSON objects as text, each one line
 * without its newline (borrowed). */
typedef struct render_rows {
        const char *const *lines;
        size_t n;
} render_rows_t;

/*
 * Every renderer reads and checks all rows before it writes a byte: a row
 * that is not JSON, not an object or not of the report's kind returns -1
 * with errstr naming it ("row 3: ..."), and nothing is written.  CSV is
 * RFC 4180 (CRLF, a header row, plain numbers with dot decimals); the
 * table and the page write numbers the Indonesian way (4.500.000, 66,7%).
 * The HTML page is self-contained (inline CSS and SVG, no script, nothing
 * fetched), `lang="id"`, fluid on a phone and A4 when printed; its totals
 * are also data-* attributes, for a reader or a test to check against the
 * rows.
 */

/*
 * Daily digest rows (sorted by date, then unit_id).  roster may be NULL
 * (violators then show by NIP only).  HTML: per date a
 * <section class="day" data-date>, one <rect class="bar" data-unit
 * data-rate> per row, and <tr class="total" data-expected data-present
 * data-compliant data-violations data-violators ...> with the date's sums.
 * Returns 0, or -1 when a row is not a digest row (errstr says which) or
 * writing failed.
 */
int render_digest(FILE *f, render_fmt_t fmt, render_rows_t rows,
                  const roster_t *roster, char *errstr, size_t errstr_size);

/*
 * Payroll rows of one period (sorted by employee_id; the renderer groups
 * them per unit, by unit_id, where the format has sheets; CSV keeps the
 * given order and has no total rows).  locked: the figures are a closed
 * month's snapshot (said on the sheet).  HTML: per unit a
 * <section class="sheet" data-unit> with <tr class="unit-total" data-unit
 * data-employees data-tpp-monthly data-deduction data-tpp> (data-tpp is
 * what is paid, tpp_after) and the signatures of the unit's head (the
 * roster's head_id of its employees) and of the treasurer; then
 * <tr class="city-total" ...> over all rows.  Rows of more than one
 * period are refused.  Returns 0 or -1.
 */
int render_payroll(FILE *f, render_fmt_t fmt, render_rows_t rows,
                   const roster_t *roster, bool locked, char *errstr,
                   size_t errstr_size);

/*
 * Discipline rows of one year, in the order given (the caller orders them
 * most serious first for the table).  Sanctions show with spaces
 * ("teguran lisan") in the table, as the rows spell them in CSV.  HTML is
 * refused ("format html tidak tersedia untuk disiplin").  Returns 0 or -1.
 */
int render_discipline(FILE *f, render_fmt_t fmt, render_rows_t rows,
                      const roster_t *roster, char *errstr, size_t errstr_size);

/* "Jumat, 17 April 2026": a day number (rules/ptime.h) as the reports
 * write dates. */
void render_format_date(int32_t day, char *buf, size_t n);

/* "2026-04" -> "April 2026"; false (buf untouched) when period is not a
 * month YYYY-MM. */
bool render_format_period(const char *period, char *buf, size_t n);

#endif
